import pytest

import config
from config import ConfigurationError
from grants import create_app


def test_environment_chooses_the_configuration_class():
    settings = config.load(environ={"GRANTS_CONFIG": "testing"})
    assert settings["TESTING"] is True
    assert config.load(environ={})["NAME"] == "development"


def test_unknown_configuration_name_fails_loudly():
    with pytest.raises(ConfigurationError, match="Unknown configuration 'staging'"):
        config.load(environ={"GRANTS_CONFIG": "staging"})


def test_unknown_environment_setting_fails_with_its_name():
    with pytest.raises(ConfigurationError, match="GRANTS_DATABSE_URL"):
        config.load("development", environ={"GRANTS_DATABSE_URL": "sqlite://"})


def test_production_requires_secret_key_and_database():
    with pytest.raises(ConfigurationError, match="GRANTS_SECRET_KEY, GRANTS_DATABASE_URL"):
        config.load("production", environ={})
    settings = config.load("production", environ={"GRANTS_SECRET_KEY": "s3cret",
                                                  "GRANTS_DATABASE_URL": "postgresql+psycopg://db/grants"})
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_environment_values_are_typed():
    settings = config.load("development", environ={"GRANTS_MAX_UPLOAD_MB": "5", "GRANTS_RATELIMIT_ENABLED": "no"})
    assert settings["MAX_UPLOAD_MB"] == 5 and settings["RATELIMIT_ENABLED"] is False
    with pytest.raises(ConfigurationError, match="whole number"):
        config.load("development", environ={"GRANTS_MAX_UPLOAD_MB": "lots"})


def test_unknown_override_is_refused():
    with pytest.raises(ConfigurationError, match="NOT_A_SETTING"):
        create_app("testing", NOT_A_SETTING=1)


def test_database_defaults_to_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.delenv("GRANTS_DATABASE_URL", raising=False)
    app = create_app("testing")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/grants.sqlite3")
