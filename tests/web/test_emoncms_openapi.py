"""The emoncms routes in the OpenAPI schema: every path answers GET and POST (emoncms reads ``$_GET`` then
``$_POST``), each as an operation of its own id — one route for both methods gave POST the GET's id, and FastAPI
warned "Duplicate Operation ID" at every schema build."""

from __future__ import annotations

import warnings

from fastapi import FastAPI

from regie.web import emoncms

PATHS = ("/input/post", "/input/post.json", "/input/post/{node}", "/input/bulk", "/input/bulk.json",
         "/input/list.json", "/feed/list.json", "/feed/data.json")  # fmt: skip


def test_each_emoncms_path_and_method_is_one_operation_with_its_own_id() -> None:
    app = FastAPI()
    app.include_router(emoncms.router)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = app.openapi()
    assert [str(w.message) for w in caught if "Operation ID" in str(w.message)] == []
    ops = {(path, method): op["operationId"] for path in PATHS for method, op in spec["paths"][path].items()}
    assert set(ops) == {(path, method) for path in PATHS for method in ("get", "post")}
    assert len(set(ops.values())) == len(ops)
