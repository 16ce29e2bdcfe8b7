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


def test_grants_after_award_endpoints_of_the_contract_are_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    contract = [("/grants", "get"), ("/applications/{application_id}/agreement", "get"),
                ("/applications/{application_id}/agreement", "put"), ("/applications/{application_id}/payments", "get"),
                ("/applications/{application_id}/payments", "post"), ("/payments/{payment_id}/transitions", "post"),
                ("/applications/{application_id}/grant-reports", "get"),
                ("/applications/{application_id}/grant-reports", "post"), ("/grant-reports/{report_id}", "patch"),
                ("/grant-reports/{report_id}/transitions", "post"),
                ("/applications/{application_id}/irregularities", "post"),
                ("/irregularities/{irregularity_id}/transitions", "post"), ("/initiatives/{initiative_id}", "get")]
    for path, method in contract:
        assert method in paths.get(f"/api/v1{path}", {}), (path, method)
    initiative = paths["/api/v1/initiatives/{initiative_id}"]["get"]["responses"]["200"]
    assert "proven_stages" in str(initiative) or "InitiativeDetail" in str(initiative)
