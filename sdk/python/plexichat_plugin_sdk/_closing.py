"""The context-manager part the SDK's harnesses share."""


class Closing(object):
    """``with Harness() as h:`` calls ``h.close()`` when the block ends (an exception still propagates)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
