import pytest


@pytest.fixture
def interrupt_after_epoch(monkeypatch):
    """``interrupt_after_epoch(n)`` makes training raise KeyboardInterrupt once epoch ``n`` is
    logged (a run killed there); ``interrupt_after_epoch(None)`` lets training run again."""
    import stages.nn.train as train_module

    original = train_module.log.info

    def interrupt(epoch):
        if epoch is None:
            monkeypatch.setattr(train_module.log, "info", original)
            return

        def killed(message, *args):
            original(message, *args)
            if message.startswith("epoch") and args[0] == epoch:
                raise KeyboardInterrupt

        monkeypatch.setattr(train_module.log, "info", killed)

    return interrupt
