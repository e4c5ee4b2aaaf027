"""A loopback HTTP server with the Hub endpoints huggingface_hub's create_repo / upload_folder call: repo
creation, README front-matter validation, preupload (every file 'regular', so contents travel inline) and the NDJSON
commit. It records what
was committed so tests can check every file."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


class LoopbackHub:
    def __init__(self):
        self.repos: dict[
            str, dict
        ] = {}  # repo id -> {"private": bool, "files": {path: bytes}, "commits": [...]}
        self.requests: list[tuple[str, str]] = []
        self.validated: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = self.path.split("?")[0]
                hub.requests.append(("POST", path))
                if not self.headers.get("authorization", "").startswith("Bearer "):
                    return self._reply(401, {"error": "no token"})
                if path == "/api/validate-yaml":  # the Hub checks README.md front matter before a commit
                    content = json.loads(body)["content"]
                    try:
                        front = content.split("---", 2)[1] if content.startswith("---") else ""
                        yaml.safe_load(front)
                    except (IndexError, yaml.YAMLError) as exc:
                        return self._reply(400, {"errors": [{"message": str(exc)}]})
                    hub.validated.append(content)
                    return self._reply(200, {"errors": [], "warnings": []})
                if path == "/api/repos/create":
                    payload = json.loads(body)
                    repo = (
                        f"{payload['organization']}/{payload['name']}"
                        if payload.get("organization")
                        else payload["name"]
                    )
                    if repo in hub.repos:
                        return self._reply(
                            409, {"error": "You already created this model repo", "url": hub.url(repo)}
                        )
                    hub.repos[repo] = {"visibility": payload.get("visibility"), "files": {}, "commits": []}
                    return self._reply(200, {"url": hub.url(repo)})
                parts = path.split("/")  # /api/models/<org>/<name>/<preupload|commit>/<revision>
                if len(parts) >= 7 and parts[1:3] == ["api", "models"]:
                    repo, action = f"{parts[3]}/{parts[4]}", parts[5]
                    if repo not in hub.repos:
                        return self._reply(404, {"error": "Repository not found"})
                    if action == "branch":
                        hub.repos[repo].setdefault("branches", []).append(parts[6])
                        return self._reply(200, {})
                    if action == "preupload":
                        files = json.loads(body)["files"]
                        return self._reply(
                            200,
                            {
                                "files": [
                                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                    for f in files
                                ]
                            },
                        )
                    if action == "commit":
                        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                        header = next(x["value"] for x in lines if x["key"] == "header")
                        for x in lines:
                            if x["key"] == "file":
                                hub.repos[repo]["files"][x["value"]["path"]] = base64.b64decode(
                                    x["value"]["content"]
                                )
                        hub.repos[repo]["commits"].append(
                            {"summary": header["summary"], "revision": parts[6]}
                        )
                        oid = f"{len(hub.repos[repo]['commits']):040x}"
                        return self._reply(
                            200,
                            {
                                "commitUrl": f"{hub.url(repo)}/commit/{oid}",
                                "commitOid": oid,
                                "pullRequestUrl": None,
                            },
                        )
                return self._reply(404, {"error": f"not implemented: {path}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, repo: str) -> str:
        return f"{self.endpoint}/{repo}"

    def __enter__(self) -> LoopbackHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
