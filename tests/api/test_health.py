from conftest import body


def test_health_reports_the_stage(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert body(response) == {"status": "ok", "stage": "local"}
