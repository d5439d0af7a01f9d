"""The shared vocabulary: stable English codes with zh-Hans and en labels and ICCS codes.

Codes never change once data uses them; labels are translated and follow the guideline terminology
(CRC/C/156 paras 5, 55, 60 and the Luxembourg Guidelines). Where an intake form speaks to a child,
``Code.plain`` gives a wording a 12-year-old understands, without graphic detail.

ICCS is the UNODC International Classification of Crime for Statistical Purposes (2015). Its own
label texts are not reproduced where they use terms the guidelines avoid; the labels here name the
same categories in the guideline terms.

Ages are stored as an age or a birth month; they are banded only when counting (:func:`age_band`).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

EN = "en"
ZH_HANS = "zh-Hans"
LANGUAGES: tuple[str, ...] = (ZH_HANS, EN)


class UnknownCodeError(ValueError):
    """A code that is not in the named code list."""

    def __init__(self, list_name: str, code: object, known: tuple[str, ...]) -> None:
        self.list_name = list_name
        self.code = code
        super().__init__(
            f"unknown code {code!r} in code list {list_name!r}; known codes: {', '.join(known)}"
        )


class UnknownCodeListError(KeyError):
    """A code list name that is not in :data:`CODE_LISTS`."""

    def __str__(self) -> str:
        return str(self.args[0])


def normalise_language(lang: str) -> str:
    """``zh-Hans`` or ``en`` for any spelling of them (``zh_Hans``, ``zh-CN``, ``en-GB``...)."""
    tag = lang.replace("_", "-").strip().lower()
    if tag.startswith("zh"):
        return ZH_HANS
    if tag.startswith("en"):
        return EN
    raise ValueError(f"unsupported language {lang!r}; supported: {', '.join(LANGUAGES)}")


def _frozen(labels: Mapping[str, str] | None) -> Mapping[str, str] | None:
    return None if labels is None else MappingProxyType(dict(labels))


@dataclass(frozen=True)
class Code:
    """One code: its stable identifier, labels per language, ICCS code, child-friendly wording."""

    code: str
    labels: Mapping[str, str]
    iccs: str | None = None
    plain: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))
        object.__setattr__(self, "plain", _frozen(self.plain))

    def label(self, lang: str) -> str:
        return self.labels[normalise_language(lang)]

    def plain_label(self, lang: str) -> str:
        """The child-friendly wording, falling back to the label where none is written."""
        if self.plain is None:
            return self.label(lang)
        return self.plain[normalise_language(lang)]


@dataclass(frozen=True)
class CodeList:
    """An ordered list of codes with lookup by code (unknown codes raise a clear error)."""

    name: str
    title: Mapping[str, str]
    codes: tuple[Code, ...]
    _by_code: Mapping[str, Code] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code = {c.code: c for c in self.codes}
        if len(by_code) != len(self.codes):
            raise ValueError(f"code list {self.name!r} has duplicate codes")
        object.__setattr__(self, "title", _frozen(self.title))
        object.__setattr__(self, "_by_code", MappingProxyType(by_code))

    def __getitem__(self, code: str) -> Code:
        try:
            return self._by_code[code]
        except (KeyError, TypeError):
            raise UnknownCodeError(self.name, code, self.values) from None

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.codes)

    def validate(self, code: str) -> str:
        """``code`` itself if it is in the list, else :class:`UnknownCodeError`."""
        return self[code].code

    def label(self, code: str, lang: str) -> str:
        return self[code].label(lang)

    def choices(self, lang: str, *, plain: bool = False) -> list[tuple[str, str]]:
        """``(code, label)`` pairs in list order, for form selects."""
        return [(c.code, c.plain_label(lang) if plain else c.label(lang)) for c in self.codes]


def _c(code: str, en: str, zh: str, iccs: str | None = None, **plain: str) -> Code:
    """Shorthand: ``plain_en=...`` / ``plain_zh=...`` give the child-friendly wording."""
    words = {EN: plain["plain_en"], ZH_HANS: plain["plain_zh"]} if plain else None
    return Code(code, {EN: en, ZH_HANS: zh}, iccs, words)


# --- ICCS codes used in statistics --------------------------------------------------------------

ICCS = CodeList(
    "iccs",
    {EN: "ICCS crime category", ZH_HANS: "国际犯罪分类（ICCS）类别"},
    (
        _c("0203", "slavery and exploitation", "奴役和剥削", "0203"),
        _c("0204", "trafficking in persons", "贩运人口", "0204"),
        _c(
            "02041",
            "trafficking in persons for sexual exploitation",
            "以性剥削为目的贩运人口",
            "02041",
        ),
        _c(
            "02042",
            "trafficking in persons for forced labour or services",
            "以强迫劳动或服务为目的贩运人口",
            "02042",
        ),
        _c(
            "02043", "trafficking in persons for organ removal", "以摘除器官为目的贩运人口", "02043"
        ),
        _c("02044", "trafficking in persons for other purposes", "以其他目的贩运人口", "02044"),
        _c("020291", "illegal adoption", "非法收养", "020291"),
        _c("030221", "child sexual abuse material", "儿童性虐待材料", "030221"),
        _c(
            "030222",
            "sexual exploitation of children in prostitution",
            "在卖淫业中对儿童的性利用",
            "030222",
        ),
        _c("030223", "sexual grooming of children", "为性目的引诱儿童", "030223"),
        _c("030229", "other sexual exploitation of children", "其他对儿童的性剥削", "030229"),
    ),
)

# --- form of exploitation (OPSC arts. 2-3, guidelines part V) -----------------------------------

FORM_OF_EXPLOITATION = CodeList(
    "form_of_exploitation",
    {EN: "form of exploitation", ZH_HANS: "剥削形式"},
    (
        _c(
            "sale_sexual_exploitation",
            "sale of children for the purpose of sexual exploitation",
            "以性剥削为目的买卖儿童",
            "02041",
            plain_en="Someone sold, bought or traded a child so that the child would be used "
            "for sexual things.",
            plain_zh="有人把孩子卖掉、买来或拿去交换，让孩子被用来做和性有关的事。",
        ),
        _c(
            "sale_organ_transfer",
            "sale of children for the transfer of organs for profit",
            "为获利转让儿童器官而买卖儿童",
            "02043",
            plain_en="Someone sold, bought or traded a child to take a part of the child's body "
            "and sell it.",
            plain_zh="有人把孩子卖掉、买来或拿去交换，想拿走孩子身体里的器官去卖钱。",
        ),
        _c(
            "sale_forced_labour",
            "sale of children for forced labour",
            "为强迫劳动而买卖儿童",
            "0203",
            plain_en="Someone sold, bought or traded a child to make the child work against "
            "their will.",
            plain_zh="有人把孩子卖掉、买来或拿去交换，逼孩子违背自己的意愿去干活。",
        ),
        _c(
            "sale_illegal_adoption",
            "improperly inducing consent for the adoption of a child (illegal adoption)",
            "以不当方式诱使同意收养儿童（非法收养）",
            "020291",
            plain_en="Someone paid or tricked people so that a child was adopted in a way that "
            "breaks the rules.",
            plain_zh="有人花钱或者骗人，不按法律规定把孩子收养走。",
        ),
        _c(
            "prostitution",
            "sexual exploitation of children in prostitution",
            "在卖淫业中对儿童的性利用",
            "030222",
            plain_en="Someone makes a child do sexual things in exchange for money, gifts, "
            "a place to stay or other things.",
            plain_zh="有人让孩子做和性有关的事，用来换钱、礼物、住的地方或其他东西。",
        ),
        _c(
            "csam",
            "child sexual abuse material",
            "儿童性虐待材料",
            "030221",
            plain_en="Photos or videos that show a child being sexually abused, or that show "
            "a child's private parts in a sexual way.",
            plain_zh="显示孩子受到性侵害的照片或视频，或者带有性意味地拍孩子隐私部位的照片或视频。",
        ),
        _c(
            "live_streaming",
            "live streaming of child sexual abuse",
            "直播儿童性虐待",
            "030221",
            plain_en="Someone shows a child being sexually abused live on the internet, for "
            "example in a video call.",
            plain_zh="有人在网上实时播放孩子受到性侵害的画面，比如通过视频通话。",
        ),
        _c(
            "travel_tourism",
            "sexual exploitation of children in the context of travel and tourism",
            "旅行和旅游中对儿童的性剥削",
            "030229",
            plain_en="Someone who is travelling or visiting from somewhere else sexually abuses "
            "a child.",
            plain_zh="从别的地方来旅行或出差的人对孩子进行性侵害。",
        ),
        _c(
            "grooming",
            "solicitation of children for sexual purposes (grooming)",
            "为性目的引诱儿童（诱骗）",
            "030223",
            plain_en="An adult or older person makes friends with a child, often online, to "
            "trick the child into sexual things.",
            plain_zh="一个大人或比孩子大很多的人（常常是在网上）和孩子交朋友，想骗孩子做和性有关的事。",
        ),
        _c(
            "sexual_extortion",
            "sexual extortion of children",
            "对儿童的性勒索",
            "030229",
            plain_en="Someone threatens to share private or sexual pictures of a child unless the "
            "child sends more pictures, pays money or does what they say.",
            plain_zh="有人威胁要把孩子的私密照片发给别人，逼孩子再发照片、给钱或者听他们的话。",
        ),
        _c(
            "causing_to_witness",
            "causing children to witness sexual abuse or sexual activities",
            "致使儿童目睹性虐待或性活动",
            "030229",
            plain_en="Someone makes a child watch sexual things, in person or on a screen.",
            plain_zh="有人让孩子看和性有关的事情，不管是当面还是在屏幕上。",
        ),
        _c(
            "advertising",
            "advertising or promoting the sale or sexual exploitation of children",
            "为买卖儿童或对儿童的性剥削做广告或宣传",
            "030229",
            plain_en="Someone advertises or offers children to be sold or to be used for "
            "sexual things.",
            plain_zh="有人打广告或者向别人提供孩子，用来买卖或做和性有关的事。",
        ),
    ),
)

# Contexts in which the forms above occur; recorded alongside a form, not instead of one.
EXPLOITATION_CONTEXT = CodeList(
    "exploitation_context",
    {EN: "context of exploitation", ZH_HANS: "剥削发生的背景"},
    (
        _c(
            "child_marriage",
            "child marriage",
            "童婚",
            plain_en="A child is married, or promised to someone for marriage.",
            plain_zh="孩子被安排结婚，或者被许配给别人。",
        ),
        _c(
            "surrogacy",
            "surrogacy arrangements",
            "代孕安排",
            plain_en="A woman gives birth to a baby for other people, and money is paid for "
            "the baby.",
            plain_zh="一位女性为别人生孩子，并且有人为这个孩子付钱。",
        ),
    ),
)

PARTICIPATION = CodeList(
    "participation",
    {EN: "participation", ZH_HANS: "参与形式"},
    (
        _c("committed", "committed", "实施"),
        _c("attempt", "attempt", "企图实施"),
        _c("complicity", "complicity", "共谋"),
        _c("participation", "participation", "参与"),
    ),
)

SEX = CodeList(
    "sex",
    {EN: "sex", ZH_HANS: "性别"},
    (
        _c("female", "female", "女", plain_en="Girl", plain_zh="女孩"),
        _c("male", "male", "男", plain_en="Boy", plain_zh="男孩"),
        _c("other", "other", "其他", plain_en="Other", plain_zh="其他"),
        _c("unknown", "unknown", "不详", plain_en="I don't want to say", plain_zh="我不想说"),
    ),
)

AGE_BAND = CodeList(
    "age_band",
    {EN: "age band", ZH_HANS: "年龄组"},
    (
        _c("0-4", "0-4 years", "0至4岁"),
        _c("5-9", "5-9 years", "5至9岁"),
        _c("10-14", "10-14 years", "10至14岁"),
        _c("15-17", "15-17 years", "15至17岁"),
        _c("unknown", "age unknown", "年龄不详"),
    ),
)

SETTING = CodeList(
    "setting",
    {EN: "setting", ZH_HANS: "发生环境"},
    (
        _c("online", "online", "线上", plain_en="On the internet", plain_zh="在网上"),
        _c("offline", "offline", "线下", plain_en="Not on the internet", plain_zh="不在网上"),
        _c(
            "both",
            "online and offline",
            "线上和线下",
            plain_en="Both on and off the internet",
            plain_zh="网上和网下都有",
        ),
    ),
)

OFFENDER_CATEGORY = CodeList(
    "offender_category",
    {EN: "offender category", ZH_HANS: "犯罪人类别"},
    (
        _c("adult", "adult", "成年人"),
        _c("child", "child", "儿童"),
        _c("legal_person", "legal person", "法人"),
        _c("unknown", "unknown", "不详"),
    ),
)

RELATIONSHIP = CodeList(
    "relationship",
    {EN: "relationship to the child", ZH_HANS: "与儿童的关系"},
    (
        _c(
            "family",
            "family member",
            "家庭成员",
            plain_en="Someone in my family",
            plain_zh="我的家人",
        ),
        _c(
            "position_of_trust",
            "person in a position of trust or authority",
            "处于信任或权威地位的人",
            plain_en="Someone who looks after me or teaches me, like a teacher, coach or carer",
            plain_zh="照顾我或教我的人，比如老师、教练或看护人",
        ),
        _c(
            "acquaintance",
            "acquaintance",
            "熟人",
            plain_en="Someone I know",
            plain_zh="我认识的人",
        ),
        _c(
            "online_contact",
            "contact made online",
            "在网上结识的人",
            plain_en="Someone I met on the internet",
            plain_zh="我在网上认识的人",
        ),
        _c(
            "stranger",
            "stranger",
            "陌生人",
            plain_en="Someone I don't know",
            plain_zh="我不认识的人",
        ),
        _c("unknown", "unknown", "不详", plain_en="I'm not sure", plain_zh="我不确定"),
    ),
)

CODE_LISTS: Mapping[str, CodeList] = MappingProxyType(
    {
        cl.name: cl
        for cl in (
            FORM_OF_EXPLOITATION,
            EXPLOITATION_CONTEXT,
            PARTICIPATION,
            SEX,
            AGE_BAND,
            SETTING,
            OFFENDER_CATEGORY,
            RELATIONSHIP,
            ICCS,
        )
    }
)


def code_list(name: str) -> CodeList:
    """The code list called ``name``; an unknown name raises an error listing the known ones."""
    try:
        return CODE_LISTS[name]
    except KeyError:
        known = ", ".join(CODE_LISTS)
        raise UnknownCodeListError(f"unknown code list {name!r}; known lists: {known}") from None


def label(list_: str | CodeList, code: str, lang: str) -> str:
    """The label of ``code`` in the list (named or given) in ``lang``."""
    cl = code_list(list_) if isinstance(list_, str) else list_
    return cl.label(code, lang)


# --- ages ---------------------------------------------------------------------------------------

ADULT_AGE = 18
_BANDS: tuple[tuple[int, str], ...] = ((4, "0-4"), (9, "5-9"), (14, "10-14"), (17, "15-17"))


def age_band(age: int | None) -> str:
    """The published age band of a child's age in completed years; ``None`` gives ``unknown``.

    Ages of 18 and over are not children and negative ages are mistakes: both raise ValueError,
    so that an adult is never counted silently as a child.
    """
    if age is None:
        return "unknown"
    if isinstance(age, bool):
        raise ValueError(f"age must be a whole number of years or None, got {age!r}")
    try:
        age = operator.index(age)  # ints, and numpy integers from statistics code
    except TypeError:
        raise ValueError(f"age must be a whole number of years or None, got {age!r}") from None
    if age < 0:
        raise ValueError(f"age must not be negative, got {age}")
    if age >= ADULT_AGE:
        raise ValueError(
            f"age {age} is not a child's age (bands cover 0 to {ADULT_AGE - 1}); "
            "record adults outside the child age bands"
        )
    return next(band for top, band in _BANDS if age <= top)


def age_from_birth_month(year: int, month: int, on: date) -> int:
    """Completed years on ``on`` for a child born in ``year``-``month``, day unknown.

    The birthday is taken as the last day of the month, so that where the day is not known the
    younger age is used (where age is uncertain, the person is presumed to be a child).
    """
    if not 1 <= month <= 12:
        raise ValueError(f"birth month must be 1 to 12, got {month}")
    if (year, month) > (on.year, on.month):
        raise ValueError(f"birth month {year:04d}-{month:02d} is after {on.isoformat()}")
    if (year, month) == (on.year, on.month):
        return 0
    return on.year - year - (1 if on.month <= month else 0)


def age_band_from_birth_month(year: int, month: int, on: date) -> str:
    """The age band on ``on`` of a child born in ``year``-``month`` (see :func:`age_band`)."""
    return age_band(age_from_birth_month(year, month, on))
