"""Container image naming: the Docker tags a build gets, computed as metadata-action does."""
