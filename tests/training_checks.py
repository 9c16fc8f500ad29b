"""A shared check of the training options that change what is scored on the
validation split (``tests/`` is on pytest's ``pythonpath``)."""


def train_then_evaluate(stack, samples, folder, reporter, epochs, **option):
    """A small CNN trained with ``option`` on, then *Evaluate* on its validation
    split: ``(the card's training facts, the evaluated AUC, the kept epoch's
    validation AUC)``."""
    from landslide_susceptibility.core.model_card import read_card
    from landslide_susceptibility.engine.commands import run_command

    data = {"stack": stack, "samples": samples}
    trained = run_command("train", dict(data, model="cnn", epochs=epochs, batch_size=16, seed=3,
                                        optimizer="adam", pretrain=False, **option,
                                        output_model=str(folder / "cnn.keras")),
                          reporter)
    evaluated = run_command("evaluate", dict(data, model=trained.model, split="validation"),
                            reporter)
    return (read_card(trained.model)["training"], evaluated.metrics["auc"],
            trained.history["val_auc"][trained.best_epoch - 1])
