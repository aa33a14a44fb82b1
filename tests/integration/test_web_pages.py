"""The web UI's pages and auth through the app (both backends): JSON twins, the cookie accepted
by the pages and never by the API, CSRF and cross-site writes refused, public reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provledger.adapters.web.auth import COOKIE, csrf_for
from provledger.application.ledger import Ledger
from provledger.domain.record import ExecutionRecord, MetricPoint
from tests.support.api import Api, running_api


@pytest.fixture
def api(ledger: Ledger) -> Iterator[Api]:
    ledger.record(
        [
            ExecutionRecord(
                execution_id=f"r{i}",
                case="ocean",
                namespace="climate",
                group="ocean",
                status="succeeded",
                params={"dt": 0.5 / (i + 1)},
                metrics={"loss": [MetricPoint(value=1 / (s + 1), step=s) for s in range(5000)]},
            )
            for i in range(2)
        ]
        + [ExecutionRecord(execution_id="x1", case="thing", namespace="other", status="failed")]
    )
    with running_api(ledger) as running:
        yield running


def _login(api: Api, token: str) -> None:
    api.client.cookies.set(COOKIE, token)


def test_pages_need_a_token_and_send_a_browser_to_the_login_form(api: Api) -> None:
    page = api.client.get("/", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F"
    assert api.client.get("/?format=json").status_code == 401


def test_login_sets_an_httponly_samesite_strict_cookie_and_refuses_an_unknown_token(
    api: Api,
) -> None:
    bad = api.client.post("/login", data={"token": "plt_nope", "next": "/"})
    assert bad.status_code == 401
    assert "unknown or revoked token" in bad.text
    good = api.client.post(
        "/login", data={"token": api.read_token, "next": "//evil.example/"}, follow_redirects=False
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/"  # never off-site
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def test_the_cookie_opens_the_pages_but_never_the_api(api: Api) -> None:
    _login(api, api.read_token)
    cases = api.client.get("/?format=json").json()
    assert cases["facets"] == {"namespaces": ["climate", "other"], "groups": ["ocean"]}
    assert [c["key"] for c in api.client.get("/?format=json&group=ocean").json()["items"]] == [
        "climate/ocean"
    ]
    assert api.client.get("/api/v1/cases").status_code == 401


def test_an_execution_page_thins_a_long_series_and_the_download_keeps_every_point(
    api: Api,
) -> None:
    _login(api, api.read_token)
    case = api.client.get("/cases/climate/ocean?format=json").json()
    uuid = next(e["id"] for e in case["items"] if e["execution_id"] == "r0")
    shown = api.client.get(f"/executions/{uuid}?format=json").json()
    (chart,) = shown["charts"]
    assert chart["points"] == 5000
    assert chart["shown"] <= 1000
    assert min(v for v in chart["series"][0]["y"] if v is not None) == 1 / 5000  # kept
    full = api.client.get(f"/executions/{uuid}/metrics.json").json()
    assert len(full["loss"]) == 5000


def test_bad_input_is_a_clear_error_never_a_5xx(api: Api) -> None:
    _login(api, api.read_token)
    client = api.client
    assert client.get("/cases/climate/ocean?where=params.dt%20%3D%3D").status_code == 400
    assert client.get("/cases/climate/ocean?sort=bogus").status_code == 400
    assert client.get("/cases/no/such").status_code == 404
    assert client.get("/compare?ids=r0").status_code == 400
    assert client.get("/files/xyz").status_code == 400
    assert client.get("/files/" + "a" * 64).status_code == 404
    assert client.get("/?cursor=!!").status_code == 400


def test_a_write_needs_a_write_token_the_csrf_token_and_this_site(api: Api, ledger: Ledger) -> None:
    form = {"execution_id": "r1", "reason": "finer"}
    url = "/cases/climate/ocean/canonical"
    before = ledger.case_row("climate/ocean")["canonical_execution_id"]
    _login(api, api.read_token)
    assert (
        api.client.post(url, data={**form, "csrf_token": csrf_for(api.read_token)}).status_code
        == 403
    )
    _login(api, api.write_token)
    token = csrf_for(api.write_token)
    assert api.client.post(url, data=form).status_code == 403  # no CSRF token
    assert api.client.post(url, data={**form, "csrf_token": "0" * 64}).status_code == 403
    cross = api.client.post(
        url, data={**form, "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    fetch = api.client.post(
        url, data={**form, "csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert fetch.status_code == 403
    assert ledger.case_row("climate/ocean")["canonical_execution_id"] == before
    done = api.client.post(url, data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert ledger.case_row("climate/ocean")["canonical_execution_id"] == "r1"


def test_public_reads_need_no_login_and_show_no_write_controls(ledger: Ledger) -> None:
    ledger.record(
        [ExecutionRecord(execution_id="p1", case="one", namespace="c", status="succeeded")]
    )
    with running_api(ledger, public_read=True) as api:
        page = api.client.get("/cases/c/one")
        assert page.status_code == 200
        assert "Set canonical" not in page.text
        assert api.client.get("/ingest").text.count('type="file"') == 0
