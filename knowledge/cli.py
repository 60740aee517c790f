"""``helpline kb ...``: import, inspect, search, measure and export the knowledge base."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Protocol

from knowledge.domain import CHANNEL_LABELS, ONLINE_LEVEL_LABELS, ImportReport, Procedure
from knowledge.ports import KnowledgeRepository
from knowledge.search import SearchIndex
from knowledge.seed import SEED_PATH, is_seed_format, read_records, with_aliases, write_records, write_seed


class KnowledgeContext(Protocol):
    """What the ``kb`` commands need from the running application (the composition root's app)."""

    knowledge: KnowledgeRepository

    @property
    def aliases(self) -> dict[str, list[str]]: ...

    def migrate(self) -> None: ...

    def build_search_index(self) -> SearchIndex: ...


DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``kb`` command group."""
    kb = subparsers.add_parser("kb", help="cơ sở tri thức thủ tục hành chính")
    sub = kb.add_subparsers(dest="kb_command", required=True)

    p = sub.add_parser("import", help="nhập thủ tục (mặc định: bộ dữ liệu gốc kèm theo)")
    p.add_argument("paths", nargs="*", type=Path, help="thư mục hoặc tệp nguồn; bỏ trống = seed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("show", help="xem một thủ tục theo mã")
    p.add_argument("code")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("search", help="tìm thủ tục theo từ khoá")
    p.add_argument("text", nargs="+")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("stats", help="số lượng và tỉ lệ trường đã phân tích")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("export", help="xuất toàn bộ thủ tục dạng JSONL")
    p.add_argument("--out", type=Path, help="tệp .jsonl hoặc .jsonl.gz (mặc định: stdout)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("build-seed", help="dựng lại seed từ dữ liệu gốc ../shared/data")
    p.add_argument("--source", type=Path, nargs="*", default=[DEFAULT_SOURCE])
    p.add_argument("--out", type=Path, default=SEED_PATH)
    p.set_defaults(func=cmd_build_seed)


def load_any(paths: list[Path]) -> tuple[list[Procedure], list[tuple[str, str]]]:
    """Records from our own JSONL format or from the official source formats."""
    from knowledge.importers import load_sources

    records: list[Procedure] = []
    errors: list[tuple[str, str]] = []
    official: list[Path] = []
    for path in paths:
        if not path.exists():
            errors.append((str(path), "không tìm thấy tệp hoặc thư mục"))
        elif is_seed_format(path):
            recs, errs = read_records(path)
            records.extend(recs)
            errors.extend(errs)
        else:
            official.append(path)
    if official:
        recs, errs = load_sources(official)
        records.extend(recs)
        errors.extend(errs)
    return records, errors


def _report_dict(report: ImportReport, seconds: float) -> dict[str, object]:
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": [{"code": c, "reason": r} for c, r in report.errors],
        "seconds": round(seconds, 2),
    }


def cmd_import(args: argparse.Namespace, container: KnowledgeContext) -> int:
    start = time.perf_counter()
    container.migrate()
    if args.paths:
        records, errors = load_any(args.paths)
    else:
        records, errors = read_records(SEED_PATH)
    report = container.knowledge.upsert(with_aliases(records, container.aliases))
    report.errors.extend(errors)
    out = _report_dict(report, time.perf_counter() - start)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(
            f"Đã nhập: {report.created} mới, {report.updated} cập nhật, {report.unchanged} không đổi, "
            f"{len(report.errors)} lỗi ({out['seconds']} giây)."
        )
        for code, reason in report.errors:
            print(f"  Lỗi {code}: {reason}", file=sys.stderr)
    return 0 if records or not report.errors else 1


def render_procedure(p: Procedure) -> str:
    """Readable Vietnamese summary of a record, for the terminal."""
    lines = [f"{p.code} — {p.name}", f"Lĩnh vực: {p.field}"]
    if p.levels:
        lines.append(f"Cấp thực hiện: {', '.join(p.levels)}")
    if p.executing:
        lines.append(f"Cơ quan thực hiện: {p.executing}")
    if p.online_level:
        lines.append(f"Mức độ trực tuyến: {ONLINE_LEVEL_LABELS.get(p.online_level, p.online_level)}")
    if p.catalogue_only:
        lines.append("(Chỉ có trong danh mục tỉnh: chưa có chi tiết hồ sơ.)")
    for c in p.channels:
        lines.append(f"Nộp {CHANNEL_LABELS.get(c.kind, c.kind)}: {c.time_text} — {c.fee_text}".rstrip(" —"))
    if p.documents:
        lines.append("Thành phần hồ sơ:")
        group = None
        for d in p.documents:
            if d.group and d.group != group:
                lines.append(f"  {d.group}")
                group = d.group
            counts = ", ".join(
                s
                for s in (
                    f"{d.originals} bản chính" if d.originals else "",
                    f"{d.copies} bản sao" if d.copies else "",
                )
                if s
            )
            form = f" [mẫu: {d.form}]" if d.form else ""
            lines.append(f"  - {d.name}{form}" + (f" ({counts})" if counts else ""))
    if p.steps:
        lines.append("Trình tự thực hiện:")
        lines.extend(f"  {i}. {s}" for i, s in enumerate(p.steps, 1))
    if p.legal_basis:
        lines.append("Căn cứ pháp lý: " + "; ".join(lb.number or lb.title for lb in p.legal_basis))
    if p.aliases:
        lines.append("Tên gọi khác: " + ", ".join(p.aliases))
    if p.url:
        lines.append(f"Cổng Dịch vụ công: {p.url}")
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace, container: KnowledgeContext) -> int:
    container.migrate()
    proc = container.knowledge.get(args.code.strip())
    if proc is None:
        print(f"Không có thủ tục mã {args.code}.", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(proc.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_procedure(proc))
    return 0


def cmd_search(args: argparse.Namespace, container: KnowledgeContext) -> int:
    container.migrate()
    hits = container.build_search_index().search(" ".join(args.text), k=args.k)
    if args.json:
        print(json.dumps([h.__dict__ for h in hits], ensure_ascii=False, indent=2))
    elif not hits:
        print("Không tìm thấy thủ tục phù hợp.")
    else:
        for h in hits:
            print(f"{h.score:.3f}  {h.code}  {h.name}")
    return 0


def stats(records: list[Procedure]) -> dict[str, object]:
    """Counts and the share of detailed records with each parsed part."""
    from knowledge.importers import coverage

    return coverage(records)


def cmd_stats(args: argparse.Namespace, container: KnowledgeContext) -> int:
    container.migrate()
    data = stats(list(container.knowledge.all_procedures()))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for key, value in data.items():
            print(f"{key}: {value}")
    return 0


def cmd_export(args: argparse.Namespace, container: KnowledgeContext) -> int:
    container.migrate()
    records = container.knowledge.all_procedures()
    if args.out is None:
        write_records(records, sys.stdout)
        return 0
    if args.out.name.endswith(".gz"):
        n = write_seed(records, args.out)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as fh:
            n = write_records(records, fh)
    print(f"Đã xuất {n} thủ tục vào {args.out}.", file=sys.stderr)
    return 0


def cmd_build_seed(args: argparse.Namespace, container: KnowledgeContext) -> int:
    from knowledge.importers import load_sources

    missing = [p for p in args.source if not p.exists()]
    if missing:
        print(f"Không tìm thấy dữ liệu gốc: {', '.join(map(str, missing))}", file=sys.stderr)
        return 1
    records, errors = load_sources(list(args.source))
    n = write_seed(records, args.out)
    print(f"Đã ghi {n} thủ tục vào {args.out}; {len(errors)} bản ghi lỗi.")
    for code, reason in errors:
        print(f"  Lỗi {code}: {reason}", file=sys.stderr)
    return 0
