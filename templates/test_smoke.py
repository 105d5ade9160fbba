"""Smoke tests: the fastest proof the build is alive (a starter from `invoke init`)."""


def test_the_app_imports() -> None:
    """Import the app: an app that cannot be imported fails here first, in seconds."""
    from [[ app_module ]] import [[ app_name ]]

    assert callable([[ app_name ]])
