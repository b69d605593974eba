def test_healthz_answers_ok_when_database_and_broker_answer(client):
    """Does /healthz report ok once the database and the broker answer?"""
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_unknown_api_route_gets_json_error_shape(client):
    """Does an unknown API path answer the documented error shape?"""
    resp = client.get("/api/v1/nope")
    assert resp.status_code == 404
    body = resp.get_json()
    assert body["error"]["code"] == "not_found"
