"""`conclint server`'s latency as an editor sees it: didChange to publishDiagnostics.

    python benchmarks/server_latency.py [--edits N] [--small-edits N]

Starts the real server (``python -m conclint server``) and drives it over stdio with pygls's
LanguageClient. Each edit rewrites one comment line (an incremental change) and waits for the
diagnostics of that version before the next, so no edit is coalesced away. Reports p50/p95 on
a small file and on the standard library's threading.py, and the server's RSS after the
warm-up and after the edits (it must not grow without bound). Needs pygls (``pip install
'conclint[server]'``); Linux only for RSS (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from lsprotocol import types
from pygls.lsp.client import LanguageClient

# The README's example of threading pitfalls: a small file with findings (and fixes).
SMALL = Path(__file__).resolve().parents[1] / "examples" / "threads.py"


class Driver:
    def __init__(self) -> None:
        self.client = LanguageClient("conclint-benchmark", "1")
        self.versions: Dict[str, int] = {}
        self.arrived = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            self.versions[params.uri] = params.version or 0
            self.arrived.set()

    async def start(self, root: Path) -> None:
        await self.client.start_io(sys.executable, "-m", "conclint", "server", cwd=str(root))
        await self.client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root.as_uri())
        )
        self.client.initialized(types.InitializedParams())

    def rss_mib(self) -> float:
        pid = self.client._server.pid  # type: ignore[union-attr]  # the server process pygls started
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def published(self, uri: str, version: int) -> None:
        while self.versions.get(uri) != version:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 60)

    async def edits(self, uri: str, text: str, count: int) -> List[float]:
        """Open ``text`` (plus a comment line at its end), then rewrite that line ``count`` times."""
        text += "# edit 0\n"
        line = text.count("\n") - 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=0, text=text))
        )
        await self.published(uri, 0)
        latencies = []
        for version in range(1, count + 1):
            change = types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line + 1, character=0)),
                text=f"# edit {version}\n",
            )
            start = time.perf_counter()
            self.client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]
                )
            )
            await self.published(uri, version)
            latencies.append(time.perf_counter() - start)
        return latencies

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def summary(name: str, latencies: List[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{name:<28} {len(ms):>5} edits   p50 {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   max {ms[-1]:6.1f} ms"


async def main(args: Any) -> int:
    threading_py = Path(sysconfig.get_paths()["stdlib"]) / "threading.py"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("[tool.conclint]\n")
        driver = Driver()
        await driver.start(root)
        text = SMALL.read_text()
        small = await driver.edits((root / "small.py").as_uri(), text, args.small_edits)
        print(summary(f"examples/threads.py ({text.count(chr(10))} lines)", small))
        text = threading_py.read_text()
        uri = (root / "threading.py").as_uri()
        warm = await driver.edits(uri, text, 10)
        rss_start = driver.rss_mib()
        heavy = await driver.edits(uri, text, args.edits)
        rss_end = driver.rss_mib()
        print(summary(f"threading.py ({text.count(chr(10))} lines)", heavy))
        print(f"server RSS: {rss_start:.0f} MiB after {len(warm)} edits, {rss_end:.0f} MiB after {len(heavy)} more")
        await driver.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=1000, help="edits of threading.py (default 1000)")
    parser.add_argument("--small-edits", type=int, default=300, help="edits of the small file (default 300)")
    sys.exit(asyncio.run(main(parser.parse_args())))
