from service.app import database_ok


def test_the_configured_database_answers() -> None:
    assert database_ok()
