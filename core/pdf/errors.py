"""What a render raises: the front and the pool both do, so the errors live apart from both."""


class PdfRenderError(RuntimeError):
    """The PDF could not be produced."""


class PdfRenderTimeout(PdfRenderError):
    """The render took longer than its time limit and was stopped."""
