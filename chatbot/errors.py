"""Named errors. Each carries a one-line message meant for the user, including the fix."""


class ChatbotError(Exception):
    """Base class: every error the package raises on purpose."""


class DocumentError(ChatbotError):
    """A document file could not be read (empty, binary, undecodable)."""


class IndexError_(ChatbotError):
    """Base for index problems; the fix is always `chatbot build`."""


class IndexMissingError(IndexError_):
    pass


class IndexMismatchError(IndexError_):
    """The index was built with another model, dimension or format version."""


class IndexCorruptError(IndexError_):
    pass


class NoDocumentsError(ChatbotError):
    """A build found nothing it could index."""


class IndexBusyError(ChatbotError):
    """Another build holds the lock."""
