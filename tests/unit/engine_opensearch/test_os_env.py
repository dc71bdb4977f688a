"""Configuring the OpenSearch adapter from the environment: validation errors name the
variable, SigV4 signs for ``es`` or ``aoss`` with the boto3 session's credentials, basic
auth, one client per process, and importing the module stays light."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from catalog.engine import EngineConfigError, engine_from_env
from catalog.engine.opensearch import OpenSearchEngine, settings_from_env

from .conftest import stub_client

BASE = {"OPENSEARCH_ENDPOINT": "https://search-shop.us-east-1.es.amazonaws.com", "AWS_REGION": "us-east-1"}


@pytest.mark.parametrize(("env", "variable"), [
    ({"OPENSEARCH_ENDPOINT": ""}, "OPENSEARCH_ENDPOINT"),
    ({"OPENSEARCH_ENDPOINT": "search-shop.us-east-1.es.amazonaws.com"}, "OPENSEARCH_ENDPOINT"),
    ({"OPENSEARCH_ENDPOINT": "https://host.test/some/path"}, "OPENSEARCH_ENDPOINT"),
    ({"OPENSEARCH_ENDPOINT": "https://host.test?x=1"}, "OPENSEARCH_ENDPOINT"),
    ({"OPENSEARCH_ENDPOINT": "https://user:secret@host.test"}, "OPENSEARCH_ENDPOINT"),
    ({"OPENSEARCH_ENDPOINT": "https://host.test:99999"}, "OPENSEARCH_ENDPOINT"),
    ({"OPENSEARCH_ENDPOINT": "ftp://host.test"}, "OPENSEARCH_ENDPOINT"),
    ({"OPENSEARCH_ENDPOINT": "http://host.test:9200"}, "OPENSEARCH_ENDPOINT"),  # sigv4 over http
    ({"OPENSEARCH_AUTH": "kerberos"}, "OPENSEARCH_AUTH"),
    ({"OPENSEARCH_SERVICE": "lambda"}, "OPENSEARCH_SERVICE"),
    ({"OPENSEARCH_TIMEOUT": "soon"}, "OPENSEARCH_TIMEOUT"),
    ({"OPENSEARCH_TIMEOUT": "0"}, "OPENSEARCH_TIMEOUT"),
    ({"OPENSEARCH_TIMEOUT": "-2"}, "OPENSEARCH_TIMEOUT"),
    ({"OPENSEARCH_TIMEOUT": "3600"}, "OPENSEARCH_TIMEOUT"),
    ({"AWS_REGION": ""}, "AWS_REGION"),
    ({"OPENSEARCH_AUTH": "basic", "OPENSEARCH_PASSWORD": "pw"}, "OPENSEARCH_USERNAME"),
    ({"OPENSEARCH_AUTH": "basic", "OPENSEARCH_USERNAME": "admin"}, "OPENSEARCH_PASSWORD"),
    ({"INDEX_ALIAS": "Products!"}, "INDEX_ALIAS"),
])
def test_bad_settings_name_the_variable(env, variable):
    with pytest.raises(EngineConfigError, match=f"^{variable}"):
        OpenSearchEngine.from_env({**BASE, **env})


def test_defaults_and_accepted_forms():
    s = settings_from_env(BASE)
    assert (s.scheme, s.host, s.port, s.auth, s.service, s.region, s.timeout) == (
        "https", "search-shop.us-east-1.es.amazonaws.com", 443, "sigv4", "es", "us-east-1", 5.0)
    s = settings_from_env({"OPENSEARCH_ENDPOINT": "http://127.0.0.1:9200/", "OPENSEARCH_AUTH": "none",
                           "OPENSEARCH_TIMEOUT": "1.5"})
    assert (s.scheme, s.host, s.port, s.timeout, s.region) == ("http", "127.0.0.1", 9200, 1.5, None)
    assert settings_from_env({**BASE, "AWS_REGION": "", "AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"


@pytest.mark.parametrize(("service", "region"), [("es", "us-east-1"), ("aoss", "eu-west-1")])
def test_sigv4_signs_with_the_boto3_session_credentials(monkeypatch, service, region):
    from opensearchpy import Urllib3AWSV4SignerAuth

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEFORTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-for-test")
    monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)
    engine = OpenSearchEngine.from_env({
        "OPENSEARCH_ENDPOINT": f"https://sign-{service}.{region}.test", "AWS_REGION": region,
        "OPENSEARCH_SERVICE": service, "INDEX_ALIAS": "catalog", "OPENSEARCH_TIMEOUT": "2"})
    assert engine.alias == "catalog" and engine.timeout == 2.0
    (connection,) = engine.client.transport.connection_pool.connections
    assert isinstance(connection.http_auth, Urllib3AWSV4SignerAuth)
    assert connection.http_auth.service == service
    http = stub_client(engine.client)
    http.answer((200, {"count": 3, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}))
    assert engine.count() == 3
    headers = {k.lower(): v for k, v in http.sent[0].headers.items()}
    auth = headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLEFORTEST/")
    assert f"/{region}/{service}/aws4_request" in auth
    assert headers["x-amz-security-token"] == "session-token-for-test"
    assert len(headers["x-amz-content-sha256"]) == 64  # aoss needs the payload hash header


def test_sigv4_without_credentials_is_a_config_error(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask instance metadata
    with pytest.raises(EngineConfigError, match="credentials"):
        OpenSearchEngine.from_env({**BASE, "OPENSEARCH_ENDPOINT": "https://no-credentials.test"})


def test_basic_auth_sends_the_user_and_password():
    engine = OpenSearchEngine.from_env({"OPENSEARCH_ENDPOINT": "https://basic.test:9200", "OPENSEARCH_AUTH": "basic",
                                        "OPENSEARCH_USERNAME": "admin", "OPENSEARCH_PASSWORD": "s3cret"})
    http = stub_client(engine.client)
    http.answer((200, {"count": 0}))
    engine.count()
    headers = {k.lower(): v for k, v in http.sent[0].headers.items()}
    assert headers["authorization"] == "Basic " + base64.b64encode(b"admin:s3cret").decode()


def test_one_client_per_process_and_configuration():
    env = {"OPENSEARCH_ENDPOINT": "https://shared.test", "OPENSEARCH_AUTH": "none"}
    first, second = OpenSearchEngine.from_env(env), OpenSearchEngine.from_env(dict(env))
    assert first.client is second.client
    other = OpenSearchEngine.from_env({**env, "OPENSEARCH_TIMEOUT": "9"})
    assert other.client is not first.client
    (connection,) = other.client.transport.connection_pool.connections
    assert connection.timeout == 9.0
    transport = other.client.transport
    assert (transport.max_retries, transport.retry_on_timeout) == (2, False)


def test_engine_from_env_picks_this_adapter():
    engine = engine_from_env({"SEARCH_ENGINE": "opensearch", "OPENSEARCH_ENDPOINT": "https://pick.test",
                              "OPENSEARCH_AUTH": "none"})
    assert isinstance(engine, OpenSearchEngine) and engine.alias == "products"


def test_importing_the_adapter_does_not_import_the_client_libraries():
    code = ("import sys, catalog.engine.opensearch as m; "
            "print(sorted(n for n in ('opensearchpy', 'boto3', 'botocore') if n in sys.modules)); "
            "m.OpenSearchEngine.from_env({'OPENSEARCH_ENDPOINT': 'https://x.test', 'OPENSEARCH_AUTH': 'none'}); "
            "print(sorted(n for n in ('opensearchpy', 'boto3') if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"  # nothing heavy at import
    assert out[1] == "['opensearchpy']"  # a client without SigV4 needs no boto3
