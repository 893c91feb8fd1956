"""Signatures bound to what they sign: the binding hash, the manifestation, and what `audit verify` finds."""

from datetime import UTC, datetime

from fridge_monitor.core.signatures import Signature, binding_problems, record_hash

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def signature(record_id: str = "12", content: str = '[12,"nina","2026-03-02T09:29:00.000000Z","Moved"]',
              sig_id: int = 1) -> Signature:
    return Signature(sig_id, "alert-acknowledgement", record_id,
                     record_hash("alert-acknowledgement", record_id, content), "performed", "nina", "Nina Novak", AT,
                     "Europe/Berlin")


def test_the_hash_binds_type_id_and_content():
    base = record_hash("alert-acknowledgement", "12", "x")
    assert base == record_hash("alert-acknowledgement", "12", "x")
    assert len(base) == 64
    assert base != record_hash("alert-acknowledgement", "13", "x")
    assert base != record_hash("lot-disposition", "12", "x")
    assert base != record_hash("alert-acknowledgement", "12", "y")


def test_a_signature_shows_name_user_local_time_and_meaning():
    assert signature().shown() == "Signed by Nina Novak (nina) on 2026-03-02 10:30 CET, meaning: performed"


def test_an_intact_signature_has_no_problem_and_each_breach_is_named():
    sig = signature()
    content = '[12,"nina","2026-03-02T09:29:00.000000Z","Moved"]'
    good = {("alert-acknowledgement", "12"): content}
    assert binding_problems([sig], good, {1: sig.event_value()}, [1]) == []
    # The record edited after signing.
    edited = {("alert-acknowledgement", "12"): content.replace("Moved", "Nothing")}
    assert binding_problems([sig], edited, {1: sig.event_value()}, [1]) == [
        "signature 1 (nina, performed) on alert-acknowledgement 12: the record was changed after it was signed"]
    # The signature row moved to another record: it no longer matches what its audit event recorded.
    moved = signature(record_id="13")
    assert binding_problems([moved], {("alert-acknowledgement", "13"): content}, {1: sig.event_value()}, [1]) == [
        "signature 1 (nina, performed) on alert-acknowledgement 13: differs from its audit event (the signature "
        "was changed or moved to another record)"]
    # A copy added beside it, and the original removed.
    copy = signature(record_id="13", sig_id=2)
    assert binding_problems([copy], {("alert-acknowledgement", "13"): content}, {1: sig.event_value()}, [1]) == [
        "signature 2 (nina, performed) on alert-acknowledgement 13: no audit event recorded it (the signature was "
        "added outside the application)",
        "signature 1: recorded in the audit trail but removed"]
    # The signed record deleted.
    assert binding_problems([sig], {}, {1: sig.event_value()}, [1]) == [
        "signature 1 (nina, performed) on alert-acknowledgement 12: the signed record is gone"]


def test_a_check_and_a_review_are_bound_by_every_field_they_show():
    from datetime import date

    from fridge_monitor.core.signatures import check_content, review_content

    check = check_content(7, 2, date(2026, 3, 2), "08:00", AT, "nina", 4.5, 3.0, 6.5, 4.8, None)
    assert check == '[7,2,"2026-03-02","08:00","2026-03-02T09:30:00.000000Z","nina",4.5,3.0,6.5,4.8,null]'
    assert check != check_content(7, 2, date(2026, 3, 2), "08:00", AT, "nina", 4.6, 3.0, 6.5, 4.8, None)
    review = review_content(3, 2, "2026-02", "ok", ["Days without data: 1 (28)"], "ab" * 32, "sam", AT)
    assert review == ('[3,2,"2026-02","ok",["Days without data: 1 (28)"],"' + "ab" * 32
                      + '","sam","2026-03-02T09:30:00.000000Z"]')
    assert review != review_content(3, 2, "2026-02", "ok", [], "ab" * 32, "sam", AT)


def test_a_bundle_s_signed_pdf_must_be_the_copy_its_review_froze():
    from fridge_monitor.core.signatures import REVIEWS_FILE, bundle_problems

    reviews = ("id,fridge_id,fridge,month,comment,open_items,pdf_file,pdf_sha256,reviewed_by,reviewed_at_utc\r\n"
               '4,2,A1,2026-02,,[],reports/A1_2026-02.pdf,' + "ab" * 32 + ",sam,2026-03-02T09:30:00Z\r\n").encode()
    same = {"reports/A1_2026-02.pdf": "ab" * 32}
    assert bundle_problems({REVIEWS_FILE: reviews}, [], same) == []
    other = {"reports/A1_2026-02.pdf": "cd" * 32}
    assert bundle_problems({REVIEWS_FILE: reviews}, [], other) == [
        "reports/A1_2026-02.pdf: not the signed copy review 4 froze (its SHA-256 differs from the review's)"]
