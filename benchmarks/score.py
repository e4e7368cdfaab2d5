"""Articles per second of the scorer on title+summary texts, on one core.

    python benchmarks/score.py [--n 20000] [--language en|ru|uk] [--headlines PATH] [--json]

Texts are synthesised from templates (about half geopolitical, half ordinary
news, like a mixed feed; --language ru or uk: our own Russian or Ukrainian
templates, lemmatised word by word), or, with --headlines, read from a CSV with a ``title``
column (e.g. ../shared/data/headlines/headlines.csv; only used as load, never to
pick keywords). Prints the full scorer (automaton, modality, actors, evidence,
theatre) next to a plain ``re`` baseline in the same run: one compiled regex per
taxonomy category, searched in a loop, matching only.

Times are CPU time of this process (time.process_time), so the figure is per
core and does not drop when other processes share the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.score import article_text, score_article  # noqa: E402
from pipeline.signals import load_lexicon, pattern_parts  # noqa: E402

ACTORS = ["Russia", "Ukraine", "the Kremlin", "Washington", "NATO", "China", "Taiwan", "Beijing", "Israel",
          "Iran", "India", "Pakistan", "North Korea", "South Korea", "the EU", "Britain", "Poland", "Turkey"]
EVENTS = [
    "{a} masses troops near {b} border",
    "{a} warns of severe sanctions if {b} invades",
    "{a} shells positions in eastern {b}",
    "{a} and {b} hold talks in Geneva",
    "{a} expels {b} diplomats in tit-for-tat move",
    "{a} denies plans to attack {b}",
    "{a} puts nuclear forces on high alert amid {b} tensions",
    "{a} agrees ceasefire with {b}",
    "{a} imposes new sanctions on {b} banks",
    "{a} says troops returning to bases after drills near {b}",
    "{a} condemns {b} missile test",
    "{a} hackers launch cyberattack on {b} ministries",
    "{a} may be preparing offensive against {b}, officials say",
    "{a} rules out sending combat troops to {b}",
]
SUMMARIES = [
    "Officials said the move was a response to what they called provocations, and analysts warned the "
    "situation could escalate further in the coming days.",
    "The announcement came after a phone call between the two leaders, according to a statement released "
    "on Tuesday evening.",
    "Satellite images showed new deployments of armour and artillery, while diplomats met in Brussels to "
    "discuss a joint response.",
    "The ministry did not comment on the reports, which could not be independently verified.",
    "Markets fell sharply on the news, with oil prices rising above $90 a barrel for the first time since 2014.",
]
NEUTRAL_TITLES = [
    "Local team wins championship after dramatic final", "Central bank holds interest rates steady",
    "New smartphone goes on sale next week", "Heatwave expected to continue through the weekend",
    "Film festival announces this year's lineup", "Tech giant reports record quarterly profit",
    "City council approves budget for new library", "Scientists discover new species of frog",
    "Airline adds routes to southern Europe", "Museum reopens after two-year renovation",
]
NEUTRAL_SUMMARIES = [
    "The decision was welcomed by residents, who had campaigned for years, the mayor said on Monday.",
    "Analysts expect demand to remain strong through the holiday season despite higher prices.",
    "Organisers said tickets sold out within hours, and more dates may be added later in the year.",
    "The researchers published their findings in the journal Nature on Wednesday.",
]


# our own Russian and Ukrainian items: (events, summaries, neutral titles, neutral summaries)
CYRILLIC = {
    "ru": (
        ["Россия стянула к границе с Украиной новые батальонные группы",
         "Вашингтон пригрозил Москве жесткими санкциями в случае вторжения",
         "ВСУ обстреляли Донецк из реактивных систем залпового огня",
         "Делегации России и Украины провели переговоры в Стамбуле",
         "Польша выслала российских дипломатов",
         "Кремль опроверг сообщения о подготовке наступления",
         "Путин перевел силы ядерного сдерживания в особый режим",
         "Стороны договорились о режиме прекращения огня",
         "ЕС ввел новый пакет санкций против российских банков",
         "Минобороны объявило об отводе войск в пункты постоянной дислокации",
         "МИД России осудил поставки американских ракет Киеву",
         "Хакеры атаковали сайты украинского правительства",
         "Возможно, армия готовит новое наступление, считают аналитики",
         "НАТО не планирует размещать войска на Украине"],
        ["Об этом сообщили в министерстве обороны, уточнив, что ситуация остается напряженной.",
         "Заявление прозвучало после телефонного разговора лидеров двух стран во вторник вечером.",
         "Спутниковые снимки показали новую технику, а дипломаты встретились в Брюсселе.",
         "В ведомстве не стали комментировать сообщения, которые невозможно проверить.",
         "Рынки отреагировали падением, нефть подорожала до 90 долларов за баррель."],
        ["Зенит обыграл Спартак в дерби и вышел в лидеры", "Центробанк сохранил ключевую ставку",
         "В продажу поступит новый смартфон", "Жара сохранится до конца недели",
         "Кинофестиваль объявил программу", "Компания отчиталась о рекордной прибыли",
         "Горсовет утвердил бюджет новой библиотеки", "Ученые открыли новый вид лягушек",
         "Авиакомпания открывает рейсы в Сочи", "Музей открылся после реставрации"],
        ["Решение приветствовали жители, которые добивались его годами, сказал мэр в понедельник.",
         "Аналитики ожидают, что спрос останется высоким до конца сезона.",
         "Организаторы сообщили, что билеты раскупили за несколько часов.",
         "Результаты исследования опубликованы в журнале в среду."],
    ),
    "uk": (
        ["Росія стягує до кордону з Україною нові батальйонні групи",
         "Вашингтон пригрозив Москві жорсткими санкціями у разі вторгнення",
         "Окупанти обстріляли Херсон з артилерії",
         "Делегації України та Росії провели переговори в Стамбулі",
         "Польща вислала російських дипломатів",
         "У Кремлі спростували повідомлення про підготовку наступу",
         "Путін перевів сили ядерного стримування в особливий режим",
         "Сторони домовилися про режим припинення вогню",
         "ЄС запровадив новий пакет санкцій проти російських банків",
         "Росія оголосила про відведення військ від кордону",
         "МЗС України засудило ракетний удар по Одесі",
         "Хакери атакували сайти українського уряду",
         "Ймовірно, окупанти готують новий наступ, вважають аналітики",
         "НАТО не планує розміщувати війська в Україні"],
        ["Про це повідомили в Міністерстві оборони, уточнивши, що ситуація залишається напруженою.",
         "Заява пролунала після телефонної розмови лідерів двох країн у вівторок увечері.",
         "Супутникові знімки показали нову техніку, а дипломати зустрілися в Брюсселі.",
         "У відомстві не коментували повідомлення, які неможливо перевірити.",
         "Ринки відреагували падінням, нафта подорожчала до 90 доларів за барель."],
        ["Динамо обіграло Шахтар і вийшло в лідери", "Нацбанк зберіг облікову ставку",
         "У продаж надійде новий смартфон", "Спека триматиметься до кінця тижня",
         "Кінофестиваль оголосив програму", "Компанія звітувала про рекордний прибуток",
         "Міськрада затвердила бюджет нової бібліотеки", "Науковці відкрили новий вид жаб",
         "Авіакомпанія відкриває рейси до Варшави", "Музей відкрився після реставрації"],
        ["Рішення привітали мешканці, які домагалися його роками, сказав мер у понеділок.",
         "Аналітики очікують, що попит залишиться високим до кінця сезону.",
         "Організатори повідомили, що квитки розкупили за кілька годин.",
         "Результати дослідження опубліковані в журналі в середу."],
    ),
}


def synthesise(n: int, seed: int = 7, language: str = "en") -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    out = []
    if language != "en":
        events, summaries, neutral, neutral_summaries = CYRILLIC[language]
        for _ in range(n):
            if rnd.random() < 0.5:
                out.append((rnd.choice(events), rnd.choice(summaries)))
            else:
                out.append((rnd.choice(neutral), rnd.choice(neutral_summaries)))
        return out
    for _ in range(n):
        if rnd.random() < 0.5:
            a, b = rnd.sample(ACTORS, 2)
            title = rnd.choice(EVENTS).format(a=a, b=b)
            title = title[0].upper() + title[1:]
            out.append((title, rnd.choice(SUMMARIES)))
        else:
            out.append((rnd.choice(NEUTRAL_TITLES), rnd.choice(NEUTRAL_SUMMARIES)))
    return out


def read_headlines(path: Path, n: int) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        titles = [r["title"] for r in csv.DictReader(f) if r.get("title")]
    if not titles:
        raise SystemExit(f"no titles in {path}")
    return [(titles[i % len(titles)], "") for i in range(n)]


def re_baseline_regexes(language: str | None = None) -> list[re.Pattern[str]]:
    """One regex per category from the same taxonomy patterns (gaps as up to N words);
    for Russian and Ukrainian the patterns as written (a regex has no lemmas)."""
    lex = load_lexicon(language)
    gap = r"(?:\W+\w+){0,%d}\W+" % lex.max_gap_words
    out = []
    for cat in lex.categories.values():
        alts = []
        for src in cat.patterns:
            parts = []
            for lits in pattern_parts(src):
                parts.append("(?:" + "|".join(
                    re.escape(lit[:-1]) + r"\w*" if lit.endswith("*") else re.escape(lit) for lit in lits) + ")")
            alts.append(gap.join(parts))
        out.append(re.compile(r"\b(?:" + "|".join(alts) + r")\b", re.IGNORECASE))
    return out


def bench(texts: list[tuple[str, str]], min_s: float = 0.0, language: str | None = None) -> dict[str, float]:
    """``language``: passed to the scorer as the article's stored language (None: detected
    per article, as the CLI does for a bare text)."""
    score_article("warm", "up", language=language)
    joined = [article_text(t, s) for t, s in texts]
    rounds = 0
    t0 = time.process_time()
    while True:
        for t, s in texts:
            score_article(t, s, language)
        rounds += 1
        if time.process_time() - t0 >= min_s:
            break
    ours_s = time.process_time() - t0
    regexes = re_baseline_regexes(language)
    sample = joined[: max(1, len(joined) // 10)]  # the re loop is slow; time a tenth
    t0 = time.process_time()
    for text in sample:
        for rx in regexes:
            rx.search(text)
    re_s = time.process_time() - t0
    return {
        "texts": len(texts),
        "avg_chars": sum(map(len, joined)) / len(joined),
        "ours_articles_per_s": rounds * len(texts) / ours_s,
        "re_articles_per_s": len(sample) / re_s,
        "re_regexes": len(regexes),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="number of articles (default 20000)")
    ap.add_argument("--headlines", type=Path, help="CSV with a title column to use instead of synthetic texts")
    ap.add_argument("--min-seconds", type=float, default=1.0, help="repeat the scorer for at least this long")
    ap.add_argument("--language", choices=("en", "ru", "uk"), default="en",
                    help="synthetic texts in this language, scored with its lexicon (default en)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")
    if args.headlines is not None and not args.headlines.is_file():
        print(f"score.py: error: no such file: {args.headlines}", file=sys.stderr)
        return 2
    texts = read_headlines(args.headlines, args.n) if args.headlines else synthesise(args.n, language=args.language)
    r = bench(texts, args.min_seconds, language=args.language)
    r["language"] = args.language
    if args.json:
        print(json.dumps(r))
        return 0
    src = f"titles from {args.headlines}" if args.headlines else (
        "synthetic title+summary texts" if args.language == "en" else f"synthetic {args.language} title+summary texts")
    print(f"{r['texts']} {src}, avg {r['avg_chars']:.0f} chars, one core")
    print(f"escalation-watch score_article (automaton, modality, actors, evidence): "
          f"{r['ours_articles_per_s']:,.0f} articles/s")
    print(f"plain re loop ({r['re_regexes']} category regexes, match only):            "
          f"{r['re_articles_per_s']:,.0f} articles/s")
    print(f"ratio: {r['ours_articles_per_s'] / r['re_articles_per_s']:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
