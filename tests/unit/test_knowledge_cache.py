"""The catalogue snapshot: reads are served from memory, writes through it are seen at once."""

from __future__ import annotations

from dataclasses import replace

from knowledge.cache import CachedKnowledgeRepository
from knowledge.domain import Procedure
from knowledge.ports import InMemoryKnowledgeRepository


class CountingRepository(InMemoryKnowledgeRepository):
    def __init__(self, procedures=()) -> None:
        self.loads = 0
        super().__init__(procedures)

    def all_procedures(self):
        self.loads += 1
        return super().all_procedures()


BIRTH = Procedure(code="1.001193", name="Thủ tục đăng ký khai sinh")
MARRIAGE = Procedure(code="1.000894", name="Thủ tục đăng ký kết hôn")


def test_reads_load_the_catalogue_once() -> None:
    inner = CountingRepository([BIRTH, MARRIAGE])
    repo = CachedKnowledgeRepository(inner)
    assert repo.get("1.001193").name == BIRTH.name
    assert repo.get("9.999999") is None
    assert repo.count() == 2
    assert [p.code for p in repo.all_procedures()] == ["1.000894", "1.001193"]
    assert inner.loads == 1


def test_a_write_through_the_cache_is_read_back_at_once() -> None:
    inner = CountingRepository([BIRTH])
    repo = CachedKnowledgeRepository(inner)
    assert repo.count() == 1
    report = repo.upsert([replace(BIRTH, name="Đăng ký khai sinh (sửa)"), MARRIAGE])
    assert (report.created, report.updated) == (1, 1)
    assert repo.get("1.001193").name == "Đăng ký khai sinh (sửa)"
    assert repo.count() == 2
    assert inner.loads == 1  # the two written records were re-read into the snapshot


def test_faqs_are_not_cached() -> None:
    from knowledge.domain import FaqEntry

    repo = CachedKnowledgeRepository(InMemoryKnowledgeRepository())
    saved = repo.save_faq(FaqEntry(None, ("Giờ làm việc?",), "Giờ hành chính."))
    assert repo.list_faqs() == [saved]


def test_an_editors_save_patches_the_snapshot_without_reloading_everything() -> None:
    inner = CountingRepository([BIRTH, MARRIAGE])
    repo = CachedKnowledgeRepository(inner)
    assert repo.count() == 2 and inner.loads == 1
    repo.save_procedure(replace(BIRTH, name="Đăng ký khai sinh (mới)"))
    assert repo.get("1.001193").name == "Đăng ký khai sinh (mới)"
    assert [p.code for p in repo.all_procedures()] == ["1.000894", "1.001193"]
    assert inner.loads == 1  # patched in place, not reloaded


def test_a_big_import_drops_the_snapshot() -> None:
    inner = CountingRepository([BIRTH])
    repo = CachedKnowledgeRepository(inner)
    assert repo.count() == 1
    many = [Procedure(code=f"9.{i:06d}", name=f"Thủ tục {i}") for i in range(60)]
    repo.upsert(many)
    assert repo.count() == 61
    assert inner.loads == 2
