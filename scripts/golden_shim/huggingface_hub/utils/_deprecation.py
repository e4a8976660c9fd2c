"""Stand-in huggingface_hub.utils._deprecation: decorators that change nothing."""


def _deprecate_method(*, version=None, message=""):
    return lambda f: f


def _deprecate_arguments(*, version=None, deprecated_args=(), custom_message=None):
    return lambda f: f
