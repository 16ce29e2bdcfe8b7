"""The OpenAPI document describes every endpoint the API serves (API.md)."""

import re


def test_every_api_route_is_in_the_openapi_document(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, operations in spec["paths"].items() for method in operations}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served, "no API routes found"
    assert served - documented == set()


def test_workflow_endpoints_of_the_contract_are_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/applications/{application_id}/transitions", "/applications/{application_id}/history",
                 "/audit/events", "/audit/verify"):
        assert f"/api/v1{path}" in paths, path
    assert {"get", "post"} <= set(paths["/api/v1/applications/{application_id}/transitions"])
