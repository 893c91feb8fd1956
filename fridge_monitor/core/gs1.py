"""What a barcode scanner typed for a vial's GS1 DataMatrix: GTIN, lot, expiry and serial (pure)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import date

from biip import ParseConfig, ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.symbology import GS1Symbology, SymbologyIdentifier

GS = "\x1d"
GS_PICTURE = "\u241d"  # "␝": what some scanners can be set to type for GS
AI_GTIN, AI_EXPIRY, AI_LOT, AI_SERIAL = "01", "17", "10", "21"
NAMES = {AI_GTIN: "GTIN (01)", AI_EXPIRY: "expiry date (17)", AI_LOT: "lot (10)", AI_SERIAL: "serial (21)"}
_DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
# GS1 AI encodable character set 82 ("X" in an AI's format): what a lot, a serial and most text fields may hold.
CSET_82 = frozenset("!\"%&'()*+,-./:;<=>?_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
CSET_82_TEXT = "letters A–Z a–z, digits and ! \" % & ' ( ) * + , - . / : ; < = > ? _"
_TEXT_FORMAT = re.compile(r"N\d\+X\.\.(\d+)")  # the AI, then one field of up to n characters of set 82
_CHAR_NAMES = {" ": "a space", "\t": "a tab", "\u00a0": "a no-break space", "\r": "a carriage return",
               "\n": "a line break"}
_CONFIG = ParseConfig(separator_chars=(GS,))


class ScanError(ValueError):
    """A scan that cannot be read safely; the message says why and what to do."""


@dataclasses.dataclass(frozen=True, slots=True)
class Scan:
    """The fields of one vial or pack code. ``gtin`` is always GTIN-14; ``others`` keeps any further
    AIs as (AI, value), e.g. national reimbursement numbers (710–715)."""

    gtin: str
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    others: tuple[tuple[str, str], ...] = ()


def parse_scan(text: str) -> Scan:
    """Read a scan typed by a barcode scanner. Raises :class:`ScanError` with a message for staff.

    Scanners act as keyboards, so the scan arrives as text in an input box, in
    either of these shapes:

    - the element string, optionally after the symbology identifier ``]d2``
      (``]C1``, ``]Q3``, ``]e0`` and ``]J1`` for the other GS1 symbologies), with
      the GS character (0x1D, FNC1) after every variable-length field that is not
      last — or U+241D ``␝`` where a scanner is set up to type that instead;
    - the human-readable form printed under the code, ``(01)…(17)…(10)…(21)…``.

    Expiry day ``00`` means the last day of that month (leap years count). The two-digit year
    follows GS1's sliding window (biip reads it against the current year: 49 back, 50 ahead).

    **Missing separators.** Many keyboard-wedge scanners drop the GS, and then a
    variable-length field swallows whatever follows it: ``01…10LOT12317270131``
    is lot ``LOT123`` with expiry 2027-01-31, but reads as lot
    ``LOT12317270131``. A wrong lot is worse than no lot, so the scan is refused
    when it is ambiguous:

    1. a variable-length field that ends without a GS before the scan does
       (it reached its maximum length and more follows) is an error;
    2. a variable-length field that runs to the end of the scan is examined: if
       its value, from some position after the first character, reads completely
       as further valid element strings, and
       - one of them is a date or a GTIN that validates (a real date, a right
         check digit) — which does not happen by chance — or
       - the scan holds no GS at all (the scanner may be dropping them) and the
         tail starts with a lot (10) or serial (21) and holds no AI the scan
         already has,

       the scan is refused, naming both readings. The cure is to set the
       scanner up to send GS (or ``␝``), or to type the lot by hand; a false
       alarm (a lot that really contains ``21…``) costs a retyped lot, a
       missed one would cost a wrong lot in the records.

    The human-readable form has no such ambiguity (the parentheses delimit).

    **Characters.** A lot, a serial and the other text fields may hold only GS1's
    character set 82 (letters A–Z a–z, digits and ``!"%&'()*+,-./:;<=>?_``). A
    scan with any other character in such a field (a space, ``é``: often a
    scanner typing with the wrong keyboard layout) is refused naming that
    character, in either shape.
    """
    data = text.strip().replace(GS_PICTURE, GS)
    if not data:
        raise ScanError("the scan is empty: scan the GS1 DataMatrix on the vial or pack")
    if data.startswith("("):
        elements = _parse_hri(data)
    else:
        data = _strip_symbology(data).strip(GS)
        elements = _parse_element_string(data)
    return _scan_from(elements)


def normalise_gtin(text: str) -> str:
    """A GTIN-8, -12, -13 or -14 as GTIN-14, its check digit verified. Raises :class:`ScanError`."""
    digits = text.strip()
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        raise ScanError(f"{text.strip()!r} is not a GTIN: a GTIN has 8, 12, 13 or 14 digits")
    try:
        return Gtin.parse(digits).as_gtin_14()
    except ParseError as exc:
        raise ScanError(f"GTIN {digits} has a wrong check digit ({_check_digit_hint(str(exc))}): "
                        "rescan it or check the digits") from None


# -- reading ----------------------------------------------------------------------------------


def _strip_symbology(data: str) -> str:
    if not data.startswith("]"):
        return data
    try:
        identifier = SymbologyIdentifier.extract(data)
    except ParseError:
        raise ScanError(f"the scan starts with an unknown symbology identifier {data[:3]!r}: "
                        "scan the GS1 DataMatrix on the vial or pack") from None
    if identifier.gs1_symbology not in GS1Symbology.with_gs1_messages():
        raise ScanError(f"the scanner reports symbology {identifier.value} "
                        f"({identifier.iso_symbology.name.replace('_', ' ')}), not a GS1 code: "
                        "scan the GS1 DataMatrix on the vial or pack")
    return data[len(identifier.value):]


def _parse_hri(data: str) -> list[GS1ElementString]:
    # biip drops every white space character of the text first: check each value as typed, so that a lot
    # 'AB C' is refused rather than read as lot 'ABC'. Spaces around a value are layout, not data.
    for ai, value in re.findall(r"\((\d+)\)([^(]*)", data):
        _check_characters(ai, value.strip())
    try:
        message = GS1Message.parse_hri(data, config=_CONFIG)
    except ParseError as exc:
        raise ScanError(f"could not read {data!r} as (AI)value pairs: {exc}") from None
    return list(message.element_strings)


def _parse_element_string(data: str) -> list[GS1ElementString]:
    elements: list[GS1ElementString] = []
    rest = data
    while rest:
        element = _extract(rest, data)
        elements.append(element)
        rest = rest[len(element):]
        if rest.startswith(GS):
            rest = rest.lstrip(GS)
        elif rest and element.ai.separator_required:
            raise ScanError(
                f"the {_name(element.ai.ai)} field runs into the next field without a GS separator "
                f"(it reached its maximum length with {rest!r} left over): set the scanner up to send GS, "
                "or type the lot and expiry by hand")
    last = elements[-1]
    if last.ai.separator_required:
        _refuse_glued(last, {e.ai.ai for e in elements}, has_gs=GS in data)
    return elements


def _extract(rest: str, data: str) -> GS1ElementString:
    try:
        ai = GS1ApplicationIdentifier.extract(rest)
    except ParseError:
        where = "" if rest == data else f" after {data[:len(data) - len(rest)].replace(GS, '<GS>')!r}"
        raise ScanError(f"{rest.split(GS)[0]!r}{where} does not start with a GS1 application identifier: "
                        "this is not a GS1 vial code, or the scan is garbled — scan again") from None
    # Before reading the field: biip ends it at the first character it may not hold, which would then look
    # like a field that reached its maximum length and runs into the next one.
    _check_characters(ai.ai, rest.split(GS)[0][len(ai.ai):])
    try:
        return GS1ElementString.extract(rest, config=_CONFIG)
    except ParseError:
        raw = rest.split(GS)[0][len(ai.ai):]
        if ai.ai in _DATE_AIS:
            problem = "is not a valid date YYMMDD (day 00 means the month's last day)"
        else:
            problem = f"does not fit its format {ai.format}"
        raise ScanError(f"the {_name(ai.ai)} field {raw!r} {problem}: scan again") from None


def _check_characters(ai: str, value: str) -> None:
    """Refuse a text field (format X..n) holding, within its maximum length, a character GS1 does not allow."""
    try:
        definition = GS1ApplicationIdentifier.extract(ai)
    except ParseError:
        return  # an unknown AI is reported by the caller
    text_field = _TEXT_FORMAT.fullmatch(definition.format)
    if text_field is None:
        return
    bad = next((ch for ch in value[:int(text_field.group(1))] if ch not in CSET_82), None)
    if bad is None:
        return
    name = _name(ai)
    noun = name.rpartition(" (")[0] or name
    raise ScanError(
        f"the {name} {value!r} contains {_shown_char(bad)}, which GS1 does not allow in a {noun}; "
        f"the allowed characters are {CSET_82_TEXT} — scan again (if it recurs, check the scanner's keyboard "
        f"layout), or type the {noun} by hand as printed on the pack")


def _shown_char(ch: str) -> str:
    """``" " (a space)``, ``"é"``, ``U+0007 (bell)``: a character as staff can recognise it."""
    if ch in _CHAR_NAMES:
        return f'"{ch}" ({_CHAR_NAMES[ch]})' if ch == " " else f"{_CHAR_NAMES[ch]}"
    if ch.isprintable():
        return f'"{ch}"'
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'a control character').lower()})"


def _refuse_glued(element: GS1ElementString, present: set[str], *, has_gs: bool) -> None:
    """Refuse a variable-length field whose tail reads as further fields (see the module docstring)."""
    value = element.value
    for start in range(1, len(value)):
        tail = _read_tail(value[start:])
        if tail is None:
            continue
        # A valid date or GTIN at the end of a lot is no coincidence, even if the scan holds that AI already.
        strong = any(e.date is not None or e.gtin is not None for e in tail)
        weak = (not has_gs and tail[0].ai.ai in (AI_LOT, AI_SERIAL)
                and not any(e.ai.ai in present for e in tail))
        if strong or weak:
            reading = ", ".join(f"{_name(e.ai.ai)} {_shown(e)}" for e in tail)
            raise ScanError(
                f"the scan is ambiguous: the {_name(element.ai.ai)} reads as {value!r}, or as "
                f"{value[:start]!r} followed by {reading}, because no GS separator marks where the field ends. "
                "Set the scanner up to send GS (FNC1), or type the lot and expiry by hand")


def _read_tail(text: str) -> list[GS1ElementString] | None:
    """``text`` as complete, valid element strings, or None."""
    try:
        elements = list(GS1Message.parse(text, config=_CONFIG).element_strings)
    except ParseError:
        return None
    if any(e.gtin_error is not None for e in elements):
        return None
    return elements


def _scan_from(elements: list[GS1ElementString]) -> Scan:
    values: dict[str, GS1ElementString] = {}
    for element in elements:
        seen = values.get(element.ai.ai)
        if seen is not None and seen.value != element.value:
            raise ScanError(f"the scan holds two different {_name(element.ai.ai)} values, "
                            f"{seen.value!r} and {element.value!r}: scan again")
        values[element.ai.ai] = element
    gtin = values.get(AI_GTIN)
    if gtin is None:
        raise ScanError("the code holds no GTIN (01): scan the GS1 DataMatrix on the vial or pack, "
                        "not a shipping label")
    if gtin.gtin_error is not None or gtin.gtin is None:
        raise ScanError(f"GTIN {gtin.value} has a wrong check digit "
                        f"({_check_digit_hint(gtin.gtin_error or '')}): scan again")
    expiry = values.get(AI_EXPIRY)
    lot = values.get(AI_LOT)
    serial = values.get(AI_SERIAL)
    others = tuple((ai, e.value) for ai, e in values.items() if ai not in NAMES)
    return Scan(gtin=gtin.gtin.as_gtin_14(), lot=lot.value if lot else None,
                expiry=expiry.date if expiry else None, serial=serial.value if serial else None, others=others)


def _name(ai: str) -> str:
    if ai in NAMES:
        return NAMES[ai]
    try:
        return f"{GS1ApplicationIdentifier.extract(ai).description.lower()} ({ai})"
    except ParseError:
        return f"({ai})"


def _shown(element: GS1ElementString) -> str:
    return element.date.isoformat() if element.date is not None else repr(element.value)


def _check_digit_hint(message: str) -> str:
    # biip says "... Expected 2, got 3."; keep that part, it tells staff which digit is off.
    _, _, hint = message.partition(": ")
    return hint.rstrip(".").lower() or "check digit mismatch"
