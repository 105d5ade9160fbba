"""moment / moment-timezone formatting for the English locale.

``{{date 'FORMAT' tz='Zone'}}`` and ``{{commit_date ...}}`` format with moment's
English-locale tokens, ``[literal]`` text and long formats (``LT``, ``L``...). A zone
moment-timezone does not know falls back to UTC, the runner's zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from shipline.images.tags._js.handlebars import _Helper, _Literal
from shipline.images.tags._js.values import (
    _EvalError,
    _js_string,
)

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_LONG_FORMATS: Final = {
    "LTS": "h:mm:ss A",
    "LT": "h:mm A",
    "L": "MM/DD/YYYY",
    "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A",
    "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY",
    "ll": "MMM D, YYYY",
    "lll": "MMM D, YYYY h:mm A",
    "llll": "ddd, MMM D, YYYY h:mm A",
}
_MOMENT_LONG: Final = re.compile(r"(\[[^\]]*\])|(\\)?(LTS|LT|LL?L?L?|l{1,4})")
_MOMENT_TOKEN: Final = re.compile(
    r"(\[[^\[]*\])|(\\)?([Hh]mm(ss)?|Mo|MM?M?M?|Do|DDDo|DD?D?D?|ddd?d?|do?|w[o|w]?|W[o|W]?"
    r"|Qo?|N{1,5}|YYYYYY|YYYYY|YYYY|YY|y{2,4}|yo?|gg(ggg?)?|GG(GGG?)?|e|E|a|A|hh?|HH?|kk?"
    r"|mm?|ss?|S{1,9}|x|X|zz?|ZZ?|.)"
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _zero_fill(number: int, width: int, force_sign: bool = False) -> str:
    digits = str(abs(number))
    sign = ("+" if force_sign else "") if number >= 0 else "-"
    return sign + "0" * max(0, width - len(digits)) + digits


def _ordinal(number: int) -> str:
    if (number % 100) // 10 == 1:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def _js_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7


def _first_week_offset(year: int, dow: int, doy: int) -> int:
    first = 7 + dow - doy
    return -((7 + _js_weekday(date(year, 1, first)) - dow) % 7) + first - 1


def _weeks_in_year(year: int, dow: int, doy: int) -> int:
    days = 366 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 365
    return (days - _first_week_offset(year, dow, doy) + _first_week_offset(year + 1, dow, doy)) // 7


def _week(moment: datetime, dow: int, doy: int) -> tuple[int, int]:
    """moment's weekOfYear: (week, week-year); ISO is dow=1 doy=4, English dow=0 doy=6."""
    day_of_year = moment.timetuple().tm_yday
    week = (day_of_year - _first_week_offset(moment.year, dow, doy) - 1) // 7 + 1
    if week < 1:
        return week + _weeks_in_year(moment.year - 1, dow, doy), moment.year - 1
    if week > _weeks_in_year(moment.year, dow, doy):
        return week - _weeks_in_year(moment.year, dow, doy), moment.year + 1
    return week, moment.year


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _offset(moment: datetime, separator: str) -> str:
    delta = moment.utcoffset() or timedelta()
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{_zero_fill(minutes // 60, 2)}{separator}{_zero_fill(minutes % 60, 2)}"


def _hour12(moment: datetime) -> int:
    return moment.hour % 12 or 12


_Fmt = Callable[[datetime], str]
_MOMENT_FORMATS: Final[dict[str, _Fmt]] = {
    "M": lambda t: str(t.month),
    "Mo": lambda t: _ordinal(t.month),
    "MM": lambda t: _zero_fill(t.month, 2),
    "MMM": lambda t: _MONTHS[t.month - 1][:3],
    "MMMM": lambda t: _MONTHS[t.month - 1],
    "Q": lambda t: str((t.month + 2) // 3),
    "Qo": lambda t: _ordinal((t.month + 2) // 3),
    "D": lambda t: str(t.day),
    "Do": lambda t: _ordinal(t.day),
    "DD": lambda t: _zero_fill(t.day, 2),
    "DDD": lambda t: str(t.timetuple().tm_yday),
    "DDDo": lambda t: _ordinal(t.timetuple().tm_yday),
    "DDDD": lambda t: _zero_fill(t.timetuple().tm_yday, 3),
    "d": lambda t: str(_js_weekday(t)),
    "do": lambda t: _ordinal(_js_weekday(t)),
    "dd": lambda t: _WEEKDAYS[_js_weekday(t)][:2],
    "ddd": lambda t: _WEEKDAYS[_js_weekday(t)][:3],
    "dddd": lambda t: _WEEKDAYS[_js_weekday(t)],
    "e": lambda t: str(_js_weekday(t)),
    "E": lambda t: str(t.isoweekday()),
    "w": lambda t: str(_week(t, 0, 6)[0]),
    "wo": lambda t: _ordinal(_week(t, 0, 6)[0]),
    "ww": lambda t: _zero_fill(_week(t, 0, 6)[0], 2),
    "W": lambda t: str(_week(t, 1, 4)[0]),
    "Wo": lambda t: _ordinal(_week(t, 1, 4)[0]),
    "WW": lambda t: _zero_fill(_week(t, 1, 4)[0], 2),
    "Y": lambda t: _zero_fill(t.year, 4) if t.year <= 9999 else f"+{t.year}",
    "YY": lambda t: _zero_fill(t.year % 100, 2),
    "YYYY": lambda t: _zero_fill(t.year, 4),
    "YYYYY": lambda t: _zero_fill(t.year, 5),
    "YYYYYY": lambda t: _zero_fill(t.year, 6, force_sign=True),
    "y": lambda t: str(t.year),
    "yo": lambda t: _ordinal(t.year),
    "yy": lambda t: _zero_fill(t.year, 2),
    "yyy": lambda t: _zero_fill(t.year, 3),
    "yyyy": lambda t: _zero_fill(t.year, 4),
    "N": lambda t: "AD",
    "NN": lambda t: "AD",
    "NNN": lambda t: "AD",
    "NNNN": lambda t: "Anno Domini",
    "NNNNN": lambda t: "AD",
    "gg": lambda t: _zero_fill(_week(t, 0, 6)[1] % 100, 2),
    "gggg": lambda t: _zero_fill(_week(t, 0, 6)[1], 4),
    "ggggg": lambda t: _zero_fill(_week(t, 0, 6)[1], 5),
    "GG": lambda t: _zero_fill(_week(t, 1, 4)[1] % 100, 2),
    "GGGG": lambda t: _zero_fill(_week(t, 1, 4)[1], 4),
    "GGGGG": lambda t: _zero_fill(_week(t, 1, 4)[1], 5),
    "a": lambda t: "pm" if t.hour > 11 else "am",
    "A": lambda t: "PM" if t.hour > 11 else "AM",
    "H": lambda t: str(t.hour),
    "HH": lambda t: _zero_fill(t.hour, 2),
    "h": lambda t: str(_hour12(t)),
    "hh": lambda t: _zero_fill(_hour12(t), 2),
    "k": lambda t: str(t.hour or 24),
    "kk": lambda t: _zero_fill(t.hour or 24, 2),
    "hmm": lambda t: f"{_hour12(t)}{_zero_fill(t.minute, 2)}",
    "hmmss": lambda t: f"{_hour12(t)}{_zero_fill(t.minute, 2)}{_zero_fill(t.second, 2)}",
    "Hmm": lambda t: f"{t.hour}{_zero_fill(t.minute, 2)}",
    "Hmmss": lambda t: f"{t.hour}{_zero_fill(t.minute, 2)}{_zero_fill(t.second, 2)}",
    "m": lambda t: str(t.minute),
    "mm": lambda t: _zero_fill(t.minute, 2),
    "s": lambda t: str(t.second),
    "ss": lambda t: _zero_fill(t.second, 2),
    "S": lambda t: str(t.microsecond // 100000),
    "SS": lambda t: _zero_fill(t.microsecond // 10000, 2),
    **{
        "S" * width: (lambda w: lambda t: _zero_fill(t.microsecond // 1000 * 10 ** (w - 3), w))(
            width
        )
        for width in range(3, 10)
    },
    "X": lambda t: str(_millis(t) // 1000),
    "x": lambda t: str(_millis(t)),
    "Z": lambda t: _offset(t, ":"),
    "ZZ": lambda t: _offset(t, ""),
    "z": lambda t: t.tzname() or "",
    "zz": lambda t: t.tzname() or "",
}


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    """moment-timezone's zone lookup (case-insensitive); unknown zones stay in UTC."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    wanted = name.lower()
    for key in available_timezones():
        if key.lower() == wanted:
            return ZoneInfo(key)
    return UTC


def _format_moment(moment: datetime, fmt: str, tz: str) -> str:
    """moment(moment).tz(tz).format(fmt) for the English locale."""
    if not tz:
        raise _EvalError("tz= must name a time zone, e.g. tz='Europe/Paris'")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(_zone(tz))
    if not fmt:
        fmt = (
            "YYYY-MM-DDTHH:mm:ss[Z]" if local.utcoffset() == timedelta() else "YYYY-MM-DDTHH:mm:ssZ"
        )
    for _ in range(5):
        expanded = _MOMENT_LONG.sub(lambda m: _LONG_FORMATS.get(m.group(0), m.group(0)), fmt)
        if expanded == fmt:
            break
        fmt = expanded
    out: list[str] = []
    for found in _MOMENT_TOKEN.finditer(fmt):
        token = found.group(0)
        if token in _MOMENT_FORMATS:
            out.append(_MOMENT_FORMATS[token](local))
        elif re.match(r"\[[\s\S]", token):
            out.append(re.sub(r"^\[|\]$", "", token))
        else:
            out.append(token.replace("\\", ""))
    return "".join(out)


def _date_helper(moment: datetime, name: str) -> _Helper:
    def helper(params: tuple[_Literal, ...], options: Mapping[str, _Literal]) -> str:
        if len(params) != 1 or not isinstance(params[0], str):
            raise _EvalError(
                f"{{{{{name}}}}} takes one quoted format, e.g. {{{{{name} 'YYYYMMDD'}}}}"
            )
        tz = "UTC"
        for key, value in options.items():
            if key != "tz":
                raise _EvalError(f'unknown {name} attribute "{key}"; only tz= is supported')
            tz = _js_string(value)
        return _format_moment(moment, params[0], tz)

    return helper
