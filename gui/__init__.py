"""Desktop-only parts of the plugin: the menu entries' actions and the engine
check dialog. Nothing here is used by the Processing algorithms or qgis_process."""
