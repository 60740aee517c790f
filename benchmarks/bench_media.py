"""How long reading a receipt photo takes (issue 14, item 6): ``bot.channels.media.read_codes`` on the
generated receipts of ``tests/fakes/receipts.py`` (an A4 page at 150 dpi, JPEG), one core.

Run:  taskset -c 0 .venv/bin/python -m benchmarks.bench_media

Each photo is read 7 times; the median is reported with the load average, since a photo without a code
tries every variant (smaller sizes, stretched contrast, turned ±15° and ±25°) before giving up.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from bot.channels.media import find_dossier_code, read_codes
from tests.fakes.receipts import photo, plain_photo, receipt

CODE = "000.00.24.H12-250301-0007"
RESULTS = Path(__file__).resolve().parent / "results" / "media.json"


def main() -> None:
    cases = {
        "QR, straight": photo(receipt(CODE)),
        "QR, turned 8°, blur 1": photo(receipt(CODE), angle=8, blur=1.0, quality=70),
        "Code 128, turned -12°, blur 1": photo(receipt(CODE, "code128"), angle=-12, blur=1.0, quality=70),
        "no code (every variant tried)": plain_photo(),
        "Code 128, blur 4 (unreadable)": photo(receipt(CODE, "code128"), blur=4.0),
    }
    rows = []
    for name, data in cases.items():
        times, found = [], None
        for _ in range(7):
            start = time.perf_counter()
            found = find_dossier_code(read_codes(data))
            times.append(time.perf_counter() - start)
        rows.append(
            {
                "photo": name,
                "kb": len(data) // 1024,
                "median_ms": round(statistics.median(times) * 1000),
                "code": found,
            }
        )
        print(f"{name:34} {len(data) // 1024:5} KB  {statistics.median(times) * 1000:6.0f} ms  {found}")
    result = {"load_average": os.getloadavg()[0], "rows": rows}
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"load average {result['load_average']:.1f}; written to {RESULTS}")


if __name__ == "__main__":
    main()
