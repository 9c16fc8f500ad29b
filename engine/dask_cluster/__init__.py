"""The engine on a Dask cluster (``dask.distributed``): susceptibility maps tile
by tile (:mod:`.predict`, the workers' side in :mod:`.tile_tasks`) and the
trainings of a comparison (:mod:`.executor`), on workers that only need the
engine's requirements; the engine code goes to them from the client
(:mod:`.code`, :mod:`.session`). README: "Running on a Dask cluster".

Not named ``distributed``: ``engine/`` is the first entry of ``sys.path`` when
``engine/launcher.py`` runs, so such a package would hide the library."""
