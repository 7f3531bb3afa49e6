"""A small Korean -> English grammar: every sentence it makes, with its translation.

Seven pronouns, with the topic particle 은/는 or the subject particle 이/가 (나는 / 내가,
저는 / 제가, 너는 / 네가, 그는 / 그가, 그녀는, 우리는, 그들은 / 그들이), and three kinds of
sentence, each in two tenses and in every register its subject is spoken in (plain 먹는다,
formal 먹습니다, polite 먹어요: the same English; 저 only in polite speech, 나 and 너 only
in plain)::

    copula        그는 선생님이다          -> he is a teacher       am / is / are, was / were,
                  우리는 학생이었습니다     -> we were students      a / an, a plural after we
                  저는 의사예요            -> i am a doctor         and they; 이에요 / 예요
    adjective     그녀는 행복하다          -> she is happy
    object-verb   나는 사과를 먹는다        -> i eat an apple        SOV -> SVO; 을 / 를 by the
                  그는 물을 마셨다          -> he drank water        noun's last sound; eats for
                  그들은 책을 좋아해요      -> they like books       he and she; mass nouns bare

Each particle follows the sound the noun ends in (``particle``): 은 / 이 / 을 / 이에요 after a
consonant (학생을), 는 / 가 / 를 / 예요 after a vowel (사과를); 나, 저 and 너 take 가 as 내가,
제가, 네가. ``grammar()`` lists every sentence once, in a fixed order.
"""

from __future__ import annotations

from typing import NamedTuple

REGISTERS = ("plain", "formal", "polite")  # 먹는다, 먹습니다, 먹어요
TENSES = ("present", "past")
# a predicate's six forms are listed in this order: the three registers in the present, then in the past


class Pronoun(NamedTuple):
    korean: str
    english: str
    be: tuple[str, str]  # present, past
    registers: tuple[str, ...]  # the registers it is spoken in


PRONOUNS = (
    Pronoun("나", "i", ("am", "was"), ("plain",)),
    Pronoun("저", "i", ("am", "was"), ("formal", "polite")),  # the humble I: polite speech only
    Pronoun("너", "you", ("are", "were"), ("plain",)),  # the familiar you: plain speech only
    Pronoun("그", "he", ("is", "was"), REGISTERS),
    Pronoun("그녀", "she", ("is", "was"), REGISTERS),
    Pronoun("우리", "we", ("are", "were"), REGISTERS),
    Pronoun("그들", "they", ("are", "were"), REGISTERS),
)
PLURAL, THIRD_SINGULAR = ("we", "they"), ("he", "she")
IRREGULAR_SUBJECT = {"나": "내가", "저": "제가", "너": "네가"}

ROLES = ("학생 student students|선생님 teacher teachers|의사 doctor doctors|간호사 nurse nurses|"
         "요리사 cook cooks|가수 singer singers|배우 actor actors|화가 painter painters|작가 writer writers|"
         "기자 reporter reporters|군인 soldier soldiers|농부 farmer farmers|변호사 lawyer lawyers|"
         "과학자 scientist scientists|엔지니어 engineer engineers|예술가 artist artists|"
         "운동선수 athlete athletes|아이 child children|친구 friend friends|어른 adult adults")


def _hada(stem: str) -> str:
    """The six forms of a 하다 adjective: 행복하다, 행복합니다, 행복해요, 행복했다, ..."""
    return " ".join(stem + ending for ending in ("하다", "합니다", "해요", "했다", "했습니다", "했어요"))


ADJECTIVES = {"happy": _hada("행복"), "tired": _hada("피곤"), "quiet": _hada("조용"), "healthy": _hada("건강"),
              "kind": _hada("친절"), "famous": _hada("유명"), "smart": _hada("똑똑"), "bored": _hada("심심"),
              "busy": "바쁘다 바쁩니다 바빠요 바빴다 바빴습니다 바빴어요",
              "sad": "슬프다 슬픕니다 슬퍼요 슬펐다 슬펐습니다 슬펐어요",
              "sick": "아프다 아픕니다 아파요 아팠다 아팠습니다 아팠어요",
              "hungry": "배고프다 배고픕니다 배고파요 배고팠다 배고팠습니다 배고팠어요"}

OBJECTS = {"food": "사과 apple|빵 bread|밥 rice|바나나 banana|오렌지 orange|케이크 cake|계란 egg|샌드위치 sandwich",
           "drink": "물 water|우유 milk|커피 coffee|차 tea|주스 juice",
           "reading": "책 book|신문 newspaper|편지 letter|잡지 magazine",
           "thing": "가방 bag|우산 umbrella|시계 watch|의자 chair"}
MASS = {"bread", "rice", "water", "milk", "coffee", "tea", "juice"}  # no article: "i eat bread"


class Verb(NamedTuple):
    forms: str  # the six forms
    english: str  # base, third person singular, past
    objects: str  # what it takes: kinds of OBJECTS, or nouns
    generic: bool = False  # its object in the plural: "i like apples"


VERBS = (
    Verb("먹는다 먹습니다 먹어요 먹었다 먹었습니다 먹었어요", "eat eats ate", "food"),
    Verb("마신다 마십니다 마셔요 마셨다 마셨습니다 마셨어요", "drink drinks drank", "drink"),
    Verb("읽는다 읽습니다 읽어요 읽었다 읽었습니다 읽었어요", "read reads read", "reading"),
    Verb("쓴다 씁니다 써요 썼다 썼습니다 썼어요", "write writes wrote", "편지 책"),
    Verb("산다 삽니다 사요 샀다 샀습니다 샀어요", "buy buys bought", "food drink reading thing"),
    Verb("좋아한다 좋아합니다 좋아해요 좋아했다 좋아했습니다 좋아했어요", "like likes liked",
         "food drink reading thing", generic=True),
    Verb("만든다 만듭니다 만들어요 만들었다 만들었습니다 만들었어요", "make makes made", "케이크 빵 샌드위치 의자 가방"),
)

KINDS = ("copula", "adjective", "object-verb")


def has_final_consonant(word: str) -> bool:
    """Whether the last Hangul syllable ends in a consonant (받침): 학생 yes, 사과 no."""
    return (ord(word[-1]) - 0xAC00) % 28 != 0


def particle(noun: str, after_consonant: str, after_vowel: str) -> str:
    """noun + particle: 은/는 (topic), 이/가 (subject), 을/를 (object), 이에요/예요 ..."""
    return noun + (after_consonant if has_final_consonant(noun) else after_vowel)


def copula_forms(noun: str) -> list[str]:
    """The six forms of 'noun + to be': 학생이다 학생입니다 학생이에요 학생이었다 ..."""
    return [noun + "이다", noun + "입니다", particle(noun, "이에요", "예요"), particle(noun, "이었다", "였다"),
            particle(noun, "이었습니다", "였습니다"), particle(noun, "이었어요", "였어요")]


def with_article(noun: str) -> str:
    """a / an before a countable noun by its first letter (every noun here is read as spelled)."""
    return noun if noun in MASS else ("an " if noun[0] in "aeiou" else "a ") + noun


def plural(noun: str) -> str:
    """apples, sandwiches; a mass noun stays as it is."""
    return noun if noun in MASS else noun + ("es" if noun.endswith(("ch", "sh", "s", "x")) else "s")


def _objects(kinds: str) -> list[tuple[str, str]]:
    every = {k: dict(pair.split() for pair in v.split("|")) for k, v in OBJECTS.items()}
    nouns = {ko: en for group in every.values() for ko, en in group.items()}
    return [pair for word in kinds.split() for pair in (every[word].items() if word in every
                                                        else [(word, nouns[word])])]


def grammar() -> list[tuple[str, str, str]]:
    """Every sentence of the grammar: (korean, english, kind), kind copula, adjective or object-verb."""
    pairs = []
    for p in PRONOUNS:
        subjects = (particle(p.korean, "은", "는"), IRREGULAR_SUBJECT.get(p.korean) or particle(p.korean, "이", "가"))
        for subject in subjects:
            for tense in range(len(TENSES)):
                for register in p.registers:
                    form = tense * len(REGISTERS) + REGISTERS.index(register)
                    be = p.be[tense]
                    for role in ROLES.split("|"):
                        korean, one, many = role.split()
                        english = many if p.english in PLURAL else with_article(one)
                        pairs.append((f"{subject} {copula_forms(korean)[form]}", f"{p.english} {be} {english}",
                                      "copula"))
                    for adjective, forms in ADJECTIVES.items():
                        pairs.append((f"{subject} {forms.split()[form]}", f"{p.english} {be} {adjective}",
                                      "adjective"))
                    for verb in VERBS:
                        base, third, past = verb.english.split()
                        said = past if tense else (third if p.english in THIRD_SINGULAR else base)
                        for korean, english in _objects(verb.objects):
                            pairs.append((f"{subject} {particle(korean, '을', '를')} {verb.forms.split()[form]}",
                                          f"{p.english} {said} "
                                          f"{plural(english) if verb.generic else with_article(english)}",
                                          "object-verb"))
    return pairs
