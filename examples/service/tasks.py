from shipline.tasks import namespace  # noqa: F401
