"""Russian and Ukrainian: language detection, lemma matching, the same judgement as English.

Every sentence here is our own. The lexicon examples (pipeline/data/lexicon/*.yaml)
are checked the way tests/unit/test_signals.py checks the English ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.language import SCORED_LANGUAGES, UNDETERMINED, detect_language, primary_code
from pipeline.lexicons import LEXICON_DIR, compile_language
from pipeline.score import NO_THEATRE, score_text
from pipeline.signals import load_lexicon

LANGS = tuple(lang for lang in SCORED_LANGUAGES if lang != "en")
EXAMPLES = [
    (lang, cat.id, kind, sentence)
    for lang in LANGS
    for cat in load_lexicon(lang).categories.values()
    for kind, sentences in (("positive", cat.positives), ("negative", cat.negatives))
    for sentence in sentences
]


def _only(rows):
    """The rows of the languages with a lexicon."""
    return [r for r in rows if r[0] in LANGS]


def _counted(scored, category=None):
    return [g for g in scored.signals if g.weight != 0 and (category is None or g.signal == category)]


# --- detection --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "hint", "expected"), [
    ("Russia masses troops near Ukraine's border", None, "en"),
    ("Россия стянула войска к границе", None, "ru"),
    ("Росія стягує війська до кордону", None, "uk"),
    # no і ї є ґ or ы э ъ ё at all: the frequent words decide
    ("Кремль заявил, что переговоры будут продолжены", None, "ru"),
    ("Кремль заявив, що переговори буде продовжено", None, "uk"),
    ("Зеленський: перемир'я неможливе", None, "uk"),
    # a feed's hint breaks a tie, never overrides the letters
    ("Путин", "uk", "uk"),
    ("Путин", "ru", "ru"),
    ("Росія атакувала Київ", "ru", "uk"),
    ("Лукашенко сустрэўся з паслом", None, "be"),
    ("Токаев қабылдады", None, "kk"),
    ("Правителството подаде оставка", "bg", "bg"),
    ("Le gouvernement français", "fr", "fr"),
    ("Le gouvernement français", None, "en"),
    ("الجيش الإسرائيلي يقصف غزة", None, "ar"),
    ("الجيش الإسرائيلي يقصف غزة", "fa", "fa"),
    ("德国总理访问北京", None, "zh"),
    ("北朝鮮がミサイルを発射", None, "ja"),
    ("12:30 — 2024", None, UNDETERMINED),
    ("12:30 — 2024", "ru-RU", "ru"),
])
def test_detect_language(text, hint, expected):
    assert detect_language(text, hint) == expected


def test_primary_code():
    assert primary_code("en-GB") == "en"
    assert primary_code("UK_ua") == "uk"
    assert primary_code("") is None and primary_code(None) is None


# --- the lexicon files ---------------------------------------------------------------


@pytest.mark.parametrize(("lang", "category", "kind", "sentence"), EXAMPLES,
                         ids=[f"{lg}-{c}-{k}-{i}" for i, (lg, c, k, _) in enumerate(EXAMPLES)])
def test_lexicon_examples(lang, category, kind, sentence):
    scored = score_text(sentence, language=lang)
    hits = _counted(scored, category)
    if kind == "positive":
        assert hits, f"{sentence!r}: no counted {category}; got {[(g.signal, g.modality, g.why) for g in scored.signals]}"
    else:
        assert not hits, f"{sentence!r}: counted {[(g.signal, g.why) for g in hits]}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_category_has_words_and_examples(lang):
    lex = load_lexicon(lang)
    english = load_lexicon()
    assert set(lex.categories) == set(english.categories)
    for cat in lex.categories.values():
        assert cat.patterns and cat.positives and cat.negatives, (lang, cat.id)
        # the judgement's data is the English taxonomy's: weights, variants, relevance
        en = english.categories[cat.id]
        assert (cat.weight, cat.threat_variant, cat.needs, cat.vetoed_by) == (
            en.weight, en.threat_variant, en.needs, en.vetoed_by)
    assert lex.taxonomy_version == english.taxonomy_version


def test_a_bad_language_file_lists_every_problem(tmp_path):
    bad = tmp_path / "xx.yaml"
    bad.write_text(
        "language: ru\nversion: '1999.1'\n"
        "actors:\n  ZZZ: [Нигде]\n"
        "categories:\n  no_such_category:\n    patterns: [слово]\n"
        "  strike_attack:\n    patterns: ['(удар']\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as e:
        compile_language("ru", path=bad)
    msg = str(e.value)
    for needle in ("version", "ZZZ", "no_such_category", "unbalanced", "missing: "):
        assert needle in msg, (needle, msg)
    assert "line" in msg or ":3" in msg or ":4" in msg


# --- inflection and evidence ----------------------------------------------------------


@pytest.mark.parametrize(("lang", "text"), _only([
    ("ru", "Армия России обстреляла позиции ВСУ под Авдеевкой"),
    ("ru", "Число обстрелов Донецка выросло, сообщили в ДНР"),
    ("ru", "Украинские военные ведут обстрел Горловки"),
    ("uk", "Російські війська обстріляли Харків"),
    ("uk", "Кількість обстрілів Херсона зросла, повідомили в ОВА"),
    ("uk", "Окупанти ведуть обстріл Нікополя"),
]))
def test_inflected_forms_hit_one_category(lang, text):
    scored = score_text(text, language=lang)
    hits = _counted(scored, "strike_attack")
    assert hits, [(g.signal, g.why) for g in scored.signals]
    ev = hits[0].evidence
    # the span points into the original text, as published
    assert text[ev.start:ev.end] == ev.text
    assert ev.text.lower().startswith(("обстр",))


def test_evidence_keeps_the_original_case_and_sentence():
    text = "ЕС ввел новый пакет санкций. Москва пообещала ответить."
    scored = score_text(text, language="ru")
    sanctions = _counted(scored, "sanctions_imposed")[0]
    assert sanctions.evidence.sentence == "ЕС ввел новый пакет санкций."
    assert sanctions.source == "EU"


# --- modality, the same cues as English in the other language ---------------------------


@pytest.mark.parametrize(("lang", "text", "category", "modality"), _only([
    ("ru", "Россия не вводила войска в Казахстан", "invasion_offensive", "negated"),
    ("ru", "Песков опроверг сообщения о подготовке наступления на Киев", "invasion_offensive", "denied"),
    ("ru", "Если Россия нападет на Украину, США введут жесткие санкции", "sanctions_threat", "conditional"),
    ("ru", "Вашингтон пригрозил Москве санкциями", "sanctions_threat", "threat"),
    ("ru", "Возможно, Россия готовит наступление на Харьков, считают аналитики", "invasion_offensive", "hedged"),
    ("ru", "Российская армия нанесла удар по Одессе", "strike_attack", "action"),
    ("uk", "Росія не планує наступ на Київ, заявили в Кремлі", "invasion_offensive", "negated"),
    ("uk", "У Міноборони спростували інформацію про обстріл Бєлгорода", "strike_attack", "denied"),
    ("uk", "Якщо Росія нападе, Захід запровадить жорсткі санкції", "sanctions_threat", "conditional"),
    ("uk", "Кремль пригрозив Києву ударами у відповідь", "threat_of_force", "threat"),
    ("uk", "Ймовірно, окупанти готують наступ на Запоріжжя", "invasion_offensive", "hedged"),
    ("uk", "Окупанти завдали ракетного удару по Одесі", "strike_attack", "action"),
]))
def test_modality(lang, text, category, modality):
    scored = score_text(text, language=lang)
    got = [(g.signal, g.modality) for g in scored.signals]
    assert (category, modality) in got, got
    counted = modality not in ("negated", "denied")
    sig = next(g for g in scored.signals if (g.signal, g.modality) == (category, modality))
    assert (sig.weight != 0) == counted, sig.why


@pytest.mark.parametrize(("lang", "text"), _only([
    ("ru", "Путин заявил не только о санкциях, но и о переброске войск"),
    ("uk", "Захід погрожує не лише санкціями, але й перекиданням військ"),
]))
def test_not_only_is_no_negation(lang, text):
    scored = score_text(text, language=lang)
    assert _counted(scored), [(g.signal, g.modality, g.why) for g in scored.signals]
    assert not any(g.modality == "negated" for g in scored.signals)


@pytest.mark.parametrize(("lang", "text"), _only([
    ("ru", "Нападающий «Зенита» атаковал ворота и забил победный гол"),
    ("ru", "Рубль атаковали спекулянты: биржевой курс упал до минимума"),
    ("ru", "Взрыв газа в жилом доме в Самаре: погибли двое"),
    ("uk", "Нападник «Динамо» атакував ворота суперника на останній хвилині"),
    ("uk", "Хакери атакували сайт інтернет-магазину побутової техніки"),
    ("uk", "Вибух газу в багатоповерхівці у Львові, є загиблі"),
]))
def test_conflict_words_outside_geopolitics_do_not_count(lang, text):
    scored = score_text(text, language=lang)
    assert not _counted(scored), [(g.signal, g.why) for g in scored.signals]
    assert scored.score == 0


@pytest.mark.parametrize(("lang", "text", "theatre", "source"), _only([
    ("ru", "Кремль пригрозил Киеву ответом на удары по Белгороду", "RUS-UKR", "RUS"),
    ("uk", "ЗСУ завдали удару по позиціях окупантів під Бахмутом", "RUS-UKR", "UKR"),
    # as in English ("Pentagon to send extra troops to Poland"): a deployment onto the eastern
    # flank with only NATO members named is NATO posture (GUIDE.md), RUS-NATO
    ("ru", "Пентагон направит в Польшу дополнительные войска", "RUS-NATO", "USA"),
    # ... but not with an actor of no Russian theatre in the text
    ("ru", "Пентагон направит в Польшу и в Ирак дополнительные войска", "other", "USA"),
    ("ru", "Пентагон направит в Польшу дополнительные войска из-за угрозы со стороны России", "RUS-NATO", "USA"),
]))
def test_actors_and_theatre(lang, text, theatre, source):
    scored = score_text(text, language=lang)
    assert scored.theatre == theatre
    assert _counted(scored)[0].source == source


def test_unsupported_languages_are_not_scored_and_say_so():
    for text, lang in (("Der Kreml droht mit Vergeltung", "de"), ("德国总理访问北京", None)):
        scored = score_text(text, language=lang)
        assert scored.language not in SCORED_LANGUAGES
        assert scored.score == 0 and not scored.signals and scored.theatre == NO_THEATRE


def test_english_unchanged_by_detection():
    text = "Russia masses troops near Ukraine's border"
    assert score_text(text).signals == score_text(text, language="en").signals
    assert score_text(text).language == "en"


def test_packaged_lexicon_files_exist_for_every_scored_language():
    assert {p.stem for p in LEXICON_DIR.glob("*.yaml")} == set(SCORED_LANGUAGES) - {"en"}
    assert Path(LEXICON_DIR / "ru.yaml").read_text(encoding="utf-8").startswith("#")


def test_a_lexicon_lemma_overrides_the_dictionary():
    """simplemma reads "Николаев" (the city) as "николай" (the first name); ru.yaml's
    ``lemmas`` keeps the city, and the name stays no actor."""
    city = score_text("Российские войска обстреляли Николаев", language="ru")
    assert city.theatre == "RUS-UKR" and _counted(city)[0].target == "UKR"
    assert score_text("Николай Петров открыл выставку в Москве", language="ru").signals == ()


def test_a_lexicon_lemma_must_map_a_word_to_a_word(tmp_path):
    text = (LEXICON_DIR / "ru.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "ru.yaml"
    bad.write_text(text.replace("lemmas:\n", "lemmas:\n  пустое: [1, 2]\n", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="lemmas"):
        compile_language("ru", bad)


@pytest.mark.parametrize(("name", "lang", "theatre"), [
    ("cyrillic_koi8r", "ru", "RUS-UKR"),
    ("cyrillic_cp1251_header", "ru", "RUS-UKR"),
    ("cyrillic_cp1251_uk", "uk", "RUS-UKR"),
])
def test_cyrillic_feeds_in_legacy_encodings_are_read_and_scored(name, lang, theatre):
    """Feed fixtures in KOI8-R and windows-1251 (declared in the prolog, or only in the
    HTTP header): decoded, the language read from the text, the shelling scored."""
    import json
    from datetime import datetime

    from pipeline.language import detect_language
    from pipeline.parse import parse_feed
    from pipeline.score import article_text, score_article

    feeds = Path(__file__).parent.parent / "data" / "feeds"
    expected = json.loads((feeds / f"{name}.expected.json").read_text(encoding="utf-8"))
    parsed = parse_feed((feeds / f"{name}.xml").read_bytes(), feed_url=expected["feed_url"],
                        now=datetime.fromisoformat(expected["now"]), headers=expected.get("headers"))  # fmt: skip
    first = parsed.articles[0]
    assert detect_language(first.title + " " + first.summary, first.language) == lang
    if lang not in SCORED_LANGUAGES:
        pytest.skip(f"no {lang} lexicon yet")
    scored = score_article(first.title, first.summary, hint=first.language)
    assert scored.language == lang and scored.theatre == theatre
    sig = _counted(scored)[0]
    assert sig.signal == "strike_attack" and sig.modality == "action"
    text = article_text(first.title, first.summary)
    assert text[sig.evidence.start : sig.evidence.end] == sig.evidence.text


def test_the_declared_language_is_only_a_hint():
    # a Cyrillic headline in a feed that says "en" is Russian; a Latin one in a feed that says "fr" is French
    assert score_text("Российские войска обстреляли Харьков", hint="en").language == "ru"
    assert score_text("Les troupes russes bombardent Kharkiv", hint="fr").language == "fr"
    assert score_text("Russian troops shell Kharkiv", hint="ru").language == "en"


@pytest.mark.parametrize("lang", LANGS)
def test_the_trie_dictionary_lemmatises_as_simplemma_s_default(lang):
    """The lemmas come from simplemma's dictionary through its MARISA-trie factory (a few
    MB, mapped in a fraction of a second) instead of its in-memory dict (~150 MB, seconds
    to load): the same word gives the same lemma, over every word of the lexicon's own
    examples and a spread of the dictionary's forms."""
    import simplemma
    from simplemma.strategies.dictionaries.dictionary_factory import DEFAULT_DICTIONARY_FACTORY

    from pipeline.lexicons import _WORD, _dictionary_lemmatizer

    words = {w.lower() for cat in load_lexicon(lang).categories.values()
             for s in (*cat.positives, *cat.negatives) for w in _WORD.findall(s)}  # fmt: skip
    forms = list(DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang))
    words |= set(forms[:: max(1, len(forms) // 3000)])
    trie = _dictionary_lemmatizer(lang)
    differ = [(w, trie(w), simplemma.lemmatize(w, lang=lang)) for w in sorted(words)
              if trie(w) != simplemma.lemmatize(w, lang=lang)]  # fmt: skip
    assert len(words) > 3000 and differ == []


# --- issue 14: news vocabulary, specific threats, requests, oblique names ------------------


def _main(scored):
    """The strongest counting signal, as evaluate --dataset languages reads a row."""
    counted = _counted(scored)
    return max(counted, key=lambda g: abs(g.weight)) if counted else None


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    # wire-style words of attacks and front reports
    ("ru", "Генштаб сообщил о 120 боевых столкновениях на фронте за сутки", "strike_attack"),
    ("ru", "Над Курском сбита украинская ракета, сообщили в Минобороны", "strike_attack"),
    ("ru", "Минобороны России заявило о поражении пунктов временной дислокации ВСУ", "strike_attack"),
    ("uk", "На фронті за добу відбулося 140 бойових зіткнень, повідомив Генштаб ЗСУ", "strike_attack"),
    ("uk", "Сили оборони уразили нафтобазу в Брянській області", "strike_attack"),
    ("uk", "Окупанти атакували Харків дронами та двома балістичними ракетами", "strike_attack"),
    # a moratorium on strikes is a truce, not the strikes
    ("ru", "Москва и Киев договорились о моратории на удары по энергетической инфраструктуре", "ceasefire_truce"),
    ("uk", "Київ і Москва погодили мораторій на удари по енергетиці", "ceasefire_truce"),
    # border incidents: aircraft across a border, warships in territorial waters
    ("ru", "Белорусский военный вертолет пересек границу Польши", "border_incident"),
    ("uk", "Російські гелікоптери перетнули кордон Естонії", "border_incident"),
    ("uk", "Китайські військові кораблі увійшли в територіальні води Філіппін", "border_incident"),
    # a ship seized, an execution, an envoy summoned, a call-up
    ("ru", "Иран захватил нефтяной танкер в Ормузском проливе", "coercion_repression"),
    ("uk", "Іран захопив нафтовий танкер у Перській затоці", "coercion_repression"),
    ("ru", "Власти Ирана казнили двух мужчин, обвиненных в шпионаже в пользу Моссада", "coercion_repression"),
    ("ru", "МИД Литвы вызвал российского поверенного в делах", "diplomatic_expulsion"),
    ("uk", "МЗС Латвії викликало російського посла", "diplomatic_expulsion"),
    ("ru", "Путин подписал указ о призыве 160 тысяч человек", "mobilisation_martial_law"),
    # build-ups of ships and units, deliveries of armoured vehicles, prisoners swapped
    ("ru", "Китай стянул к побережью Фуцзянь десантные корабли", "troop_buildup"),
    ("uk", "Росія перекинула на Покровський напрямок додаткові підрозділи", "troop_buildup"),
    ("uk", "Нідерланди передадуть Україні бронетранспортери YPR", "arms_deliveries"),
    ("ru", "Азербайджан и Армения обменялись заключенными", "relief_concession"),
    # talks about a peace plan are the talks, not a deal
    ("uk", "У Стамбулі делегації України та Росії провели переговори щодо мирного плану", "talks_summit"),
]))
def test_news_vocabulary_main_category(lang, text, category):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and main.signal == category, [(g.signal, g.modality, g.weight) for g in scored.signals]


@pytest.mark.parametrize(("lang", "text", "category", "modality"), _only([
    # a specific threat keeps its category; a generic one is threat_of_force, not the act named after it
    ("ru", "Словакия пригрозила прекратить поставки электроэнергии Украине", "blockade", "threat"),
    ("uk", "Угорщина пригрозила припинити постачання електроенергії в Україну", "blockade", "threat"),
    ("ru", "В Пекине заявили, что армия готова сокрушить любых сторонников независимости Тайваня",
     "threat_of_force", "threat"),
    ("uk", "У Пекіні заявили, що НВАК готова рішуче придушити сепаратистів Тайваню", "threat_of_force", "threat"),
    ("ru", "Лукашенко предупредил, что Минск ответит на любую провокацию на границе", "threat_of_force", "threat"),
    ("uk", "Лукашенко попередив, що Мінськ відповість на будь-яку провокацію на кордоні",
     "threat_of_force", "threat"),
    ("ru", "Если Запад направит войска в Прибалтику, они станут законными целями, заявил Медведев",
     "threat_of_force", "conditional"),
    # a call on others is hedged, and a call for sanctions is a sanctions threat
    ("ru", "Зеленский призвал Запад ввести пошлины против покупателей российской нефти", "sanctions_threat", "hedged"),
    ("uk", "Зеленський закликав партнерів запровадити нові санкції проти Росії", "sanctions_threat", "hedged"),
    ("ru", "Гросси призвал Россию и Украину прекратить удары по энергосистеме", "ceasefire_truce", "hedged"),
    # unconfirmed reports in the oblique case
    ("ru", "По неподтвержденным данным, КНДР провела ядерное испытание", "nuclear_posture", "hedged"),
]))
def test_specific_threats_requests_and_hedges(lang, text, category, modality):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and (main.signal, main.modality) == (category, modality), \
        [(g.signal, g.modality, g.weight) for g in scored.signals]


@pytest.mark.parametrize(("lang", "text", "theatre"), _only([
    # towns, regions and names in oblique cases the dictionary does not know
    ("ru", "В Купянске в результате обстрела погибли двое мирных жителей", "RUS-UKR"),
    ("ru", "Российские войска нанесли удар по энергообъектам Киевской области", "RUS-UKR"),
    ("ru", "Хакеры ГРУ атаковали сети министерства иностранных дел Германии", "RUS-NATO"),
    ("uk", "Російські війська просунулися в районі Часового Яру", "RUS-UKR"),
    ("uk", "Хакери ГРУ атакували мережі міністерства закордонних справ Німеччини", "RUS-NATO"),
]))
def test_oblique_places_and_names_are_actors(lang, text, theatre):
    scored = score_text(text, language=lang)
    assert _counted(scored), [(g.signal, g.why) for g in scored.signals]
    assert scored.theatre == theatre


def test_a_denied_meeting_of_named_leaders():
    scored = score_text("Песков опроверг сообщения о встрече Путина и Зеленского", language="ru")
    assert ("talks_summit", "denied") in [(g.signal, g.modality) for g in scored.signals]
    assert not _counted(scored)


# --- issue 14, own set 3: other words, other constructions, other news styles ---------------


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    # nominalised and passive reports, wire words for the same acts
    ("ru", "У границы с Латвией замечено скопление российской бронетехники", "troop_buildup"),
    ("ru", "Австралия ввела ограничительные меры против российских судовладельцев", "sanctions_imposed"),
    ("ru", "Британия заморозила средства двух российских банков", "sanctions_imposed"),
    ("ru", "Двое сотрудников посольства Латвии лишены аккредитации, сообщил МИД России", "diplomatic_expulsion"),
    ("ru", "Посол Франции отозван из Алжира для консультаций", "diplomatic_expulsion"),
    ("ru", "После ночного налета на Запорожье повреждены десятки домов", "strike_attack"),
    ("ru", "ПВО уничтожила 17 БПЛА над Ростовской областью", "strike_attack"),
    ("ru", "Артиллерия накрыла позиции противника у Кременной", "strike_attack"),
    ("ru", "ВСУ пытались прорвать оборону российских войск у Работино", "invasion_offensive"),
    ("ru", "В МАГАТЭ зафиксировали обогащение урана Ираном до 60 процентов", "nuclear_posture"),
    ("ru", "Акции гражданского неповиновения охватили десяток городов Грузии", "protest_unrest"),
    ("ru", "Оккупанты принудительно вывезли из Каховки группу детей", "coercion_repression"),
    ("uk", "За даними розвідки, біля кордону з Чернігівщиною накопичено російських військових", "troop_buildup"),
    ("uk", "Канада запровадила нові рестрикції проти російських металургів", "sanctions_imposed"),
    ("uk", "Мінфін США вніс до SDN-списку ще 40 суден", "sanctions_imposed"),
    ("uk", "Польща позбавила акредитації російського кореспондента ТАСС", "diplomatic_expulsion"),
    ("uk", "Тайвань фіксує щодня тисячі кібернападів з боку КНР", "cyberattack"),
    ("uk", "Китайський катер протаранив філіппінське судно біля островів Спратлі", "border_incident"),
    ("uk", "Дрони Сил оборони знищили російську РСЗВ «Град» на Херсонщині", "strike_attack"),
    ("uk", "Окупанти просочилися до околиць Костянтинівки", "invasion_offensive"),
    ("uk", "КНДР готова провести ядерний тест, заявили в Сеулі", "nuclear_posture"),
    ("uk", "Верховна Рада посилила покарання за ухилення від призову", "mobilisation_martial_law"),
    ("uk", "Росія обмежила судноплавство в Азовському морі для іноземних суден", "blockade"),
    ("uk", "У Тбілісі десятки тисяч людей мітингували проти уряду", "protest_unrest"),
    ("uk", "Білоруського опозиційного блогера засудили до 6 років колонії за дописи", "coercion_repression"),
    ("uk", "Пхеньян демонтував гарячу лінію з Сеулом", "diplomatic_breakdown"),
    ("uk", "Келлог провів тригодинну розмову з Ушаковим у Москві", "talks_summit"),
    ("uk", "Кремль погодився на різдвяну тишу на фронті", "ceasefire_truce"),
    ("uk", "Російські підрозділи відійшли від лінії фронту біля Бахмута", "troop_withdrawal"),
    ("uk", "Україна та Росія погодили механізм безпечного проходу суден", "agreement_deal"),
    ("uk", "Ще 95 захисників звільнено з російської неволі", "relief_concession"),
    # the whole phrase outranks a word inside it
    ("ru", "Израиль требует освободить заложников до конца недели", "ultimatum_demand"),
    ("ru", "Москва отозвала ратификацию договора с Вашингтоном", "diplomatic_breakdown"),
    ("ru", "В ходе спецоперации за сутки ликвидировано свыше 300 военнослужащих ВСУ", "strike_attack"),
    ("ru", "Средствами ПВО перехвачены четыре реактивных снаряда HIMARS", "strike_attack"),
    ("uk", "Трамп поставив Тегерану дедлайн для відновлення ядерних переговорів", "ultimatum_demand"),
    ("uk", "Кривий Ріг знову під ударом: є загиблі", "strike_attack"),
]))
def test_set3_vocabulary_main_category(lang, text, category):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and main.signal == category, [(g.signal, g.modality, g.weight) for g in scored.signals]


@pytest.mark.parametrize(("lang", "text", "category", "modality"), _only([
    # hedges of other words
    ("ru", "Россия, по всей видимости, перебросила к Запорожью новые бригады", "troop_buildup", "hedged"),
    ("uk", "Білорусь могла передати Росії боєприпаси, вважають у ГУР", "arms_deliveries", "hedged"),
    ("uk", "КНДР здатна провести ядерне випробування найближчим часом", "nuclear_posture", "hedged"),
    ("uk", "Окупанти, за попередньою інформацією, застосували хімічні речовини під Покровськом",
     "strike_attack", "hedged"),
    # a negation that negates nothing: "without transponders", "does not give up attempts"
    ("ru", "Российский самолет без включенных транспондеров залетел в воздушное пространство Финляндии",
     "border_incident", "action"),
    ("ru", "Противник не прекращает попыток прорвать оборону под Покровском", "invasion_offensive", "action"),
    ("uk", "Ворог не полишає спроб штурмувати Торецьк", "invasion_offensive", "action"),
    # "... there is none", "impossible", "insists it did not": negated and denied after the act
    ("ru", "В Минобороны Литвы заявили, что признаков подготовки наступления из Белоруссии нет",
     "invasion_offensive", "negated"),
    ("ru", "Индия утверждает, что не наносила ударов по гражданским объектам Пакистана", "strike_attack", "denied"),
    # the cause after "через" is the background: "не працюють через атаку" reports the attack
    ("uk", "Сайти Мін'юсту не працюють через масовану атаку російських хакерів", "cyberattack", "action"),
]))
def test_set3_modality(lang, text, category, modality):
    scored = score_text(text, language=lang)
    got = [(g.signal, g.modality) for g in scored.signals]
    assert (category, modality) in got, got
    sig = next(g for g in scored.signals if (g.signal, g.modality) == (category, modality))
    assert (sig.weight != 0) == (modality not in ("negated", "denied")), sig.why


@pytest.mark.parametrize(("lang", "text"), _only([
    # the past, and airguns: no conflict today
    ("ru", "Выставка о блокаде Ленинграда открылась в Москве"),
    ("uk", "Підлітки обстріляли з пневматики маршрутку в Полтаві"),
    # everyday demands, deadlines and trainings
    ("ru", "Министр настаивает на отказе от повышения налогов"),
    ("ru", "Бойцы ММА провели совместную тренировку в Москве"),
    ("uk", "Бійці ММА провели спільні тренування в Києві"),
    ("uk", "Мама дала синові тиждень на прибирання кімнати"),
]))
def test_set3_everyday_words_do_not_count(lang, text):
    scored = score_text(text, language=lang)
    assert not _counted(scored), [(g.signal, g.why) for g in scored.signals]


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    # second round: our own news sentences per category, in the words of other outlets
    ("ru", "Москва оставляет за собой право на адекватные действия", "threat_of_force"),
    ("ru", "Лукашенко пообещал дать решительный отпор агрессору", "threat_of_force"),
    ("ru", "Пекин предостерег Токио от игры с огнем", "threat_of_force"),
    ("ru", "Кремль выдвинул условия прекращения огня: уход ВСУ из Донбасса", "ultimatum_demand"),
    ("ru", "Британские истребители перебазированы в Эстонию", "alliance_deployment"),
    ("ru", "Япония запретила экспорт в Россию станков", "sanctions_imposed"),
    ("ru", "Пентагон одобрил продажу Израилю ракет", "arms_deliveries"),
    ("ru", "Норвегия передаст Украине системы NASAMS", "arms_deliveries"),
    ("ru", "Группировка NoName атаковала сайты Минобороны Эстонии", "cyberattack"),
    ("ru", "На границе Киргизии и Таджикистана произошла перестрелка", "border_incident"),
    ("ru", "ЦАХАЛ вошел в Дженин", "invasion_offensive"),
    ("ru", "Иран накопил 400 кг высокообогащенного урана", "nuclear_posture"),
    ("ru", "Медведев назвал немецких политиков выродками", "hostile_rhetoric"),
    ("ru", "Россия вышла из Договора по открытому небу", "diplomatic_breakdown"),
    ("uk", "Москва залишає за собою право на відповідь", "threat_of_force"),
    ("uk", "Пекін застеріг Сеул від гри з вогнем", "threat_of_force"),
    ("uk", "Росія вимагає визнати анексію Криму", "ultimatum_demand"),
    ("uk", "До Литви прибули додаткові підрозділи армії США", "alliance_deployment"),
    ("uk", "Японія заборонила експорт до Росії верстатів", "sanctions_imposed"),
    ("uk", "Польща відправила Києву 50 танків", "arms_deliveries"),
    ("uk", "Угруповання NoName атакувало сайти Міноборони Естонії", "cyberattack"),
    ("uk", "ЦАХАЛ увійшов у Дженін", "invasion_offensive"),
    ("uk", "КНДР запустила міжконтинентальну ракету", "nuclear_posture"),
    ("uk", "Медведєв назвав німецьких політиків виродками", "hostile_rhetoric"),
    ("uk", "У Білорусі засудили 12 учасників протестів", "coercion_repression"),
    ("uk", "Пхеньян відмовився від діалогу з Вашингтоном", "diplomatic_breakdown"),
    ("uk", "Опозиція вивела людей на вулиці Белграда", "protest_unrest"),
]))
def test_set3_second_round_main_category(lang, text, category):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and main.signal == category, [(g.signal, g.modality, g.weight) for g in scored.signals]


@pytest.mark.parametrize(("lang", "text"), _only([
    ("ru", "Организаторы вывели на улицы тысячи бегунов"),
    ("ru", "Армия покинула город после парада"),
    ("ru", "Правительство запретило экспорт зерна до осени"),
    ("ru", "Колонна танков прошла по Красной площади на параде"),
    ("uk", "Армія залишила місто після параду"),
    ("uk", "Уряд заборонив експорт зерна до кінця року"),
]))
def test_set3_second_round_everyday_words_do_not_count(lang, text):
    scored = score_text(text, language=lang)
    assert not _counted(scored), [(g.signal, g.why) for g in scored.signals]


# --- issue 14, round 4: mechanisms that reach word families and constructions ----------------
# Own set 4 (scripts/data/own_sentences_ru_uk_4.csv) measured how the patterns of rounds 1-3
# generalise: they fitted the wording they were written from. These are the general readings
# written since, each checked on our own sentences below (none of them a row of any set).


def _reading(scored):
    return [(g.signal, g.modality, g.weight) for g in scored.signals]


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    # a word class (@units, @buildup_verbs, @withdraw_verbs ...) reaches every pattern naming it
    ("ru", "Россия подтянула к Белгороду новые батальоны морской пехоты", "troop_buildup"),
    ("ru", "К границе с Литвой выдвигаются подразделения белорусской армии", "troop_buildup"),
    ("uk", "Росіяни підтягують до Покровська нові бригади", "troop_buildup"),
    ("ru", "Пентагон вывел из Ирака часть своих подразделений", "troop_withdrawal"),
    ("uk", "США вивели з Іраку частину своїх підрозділів", "troop_withdrawal"),
    ("ru", "Канада отправит в Латвию дополнительную роту и танки", "alliance_deployment"),
    ("uk", "До Литви прибули нідерландські винищувачі F-35", "alliance_deployment"),
    ("ru", "Иран отгрузил России новую партию беспилотников", "arms_deliveries"),
    ("uk", "Норвегія профінансує для ЗСУ виробництво артилерії", "arms_deliveries"),
    ("ru", "Баллистическая ракета попала в торговый центр в Днепре", "strike_attack"),
    ("uk", "Російський дрон врізався в багатоповерхівку в Одесі", "strike_attack"),
    ("ru", "Медведев назвал канцлера Германии «мясником»", "hostile_rhetoric"),
    ("uk", "Пєсков назвав президента Фінляндії «русофобом»", "hostile_rhetoric"),
    # "е" written for "ё" is one word
    ("ru", "Войска освободили населенный пункт под Купянском, сообщило Минобороны России", "invasion_offensive"),
    ("ru", "Войска освободили населённый пункт под Купянском, сообщило Минобороны России", "invasion_offensive"),
    ("ru", "Минобороны сообщило об освобождении населённого пункта Песчаное", "invasion_offensive"),
]))
def test_round4_word_families(lang, text, category):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and main.signal == category, _reading(scored)


@pytest.mark.parametrize(("lang", "text", "category", "modality"), _only([
    # a phrase condition covers its noun phrase; the rest of the clause is what is threatened
    ("ru", "В случае удара по Минску Россия применит все имеющиеся средства", "threat_of_force", "conditional"),
    ("uk", "У разі нападу на Білорусь Москва застосує всі наявні засоби", "threat_of_force", "conditional"),
    # a hedge set off by commas hedges its whole clause
    ("ru", "Удар по складу в Торопце, предположительно, нанесли украинские дроны", "strike_attack", "hedged"),
    ("uk", "Удар по складу в Торопці, ймовірно, завдали українські дрони", "strike_attack", "hedged"),
    ("ru", "Атака беспилотников на нефтебазу в Новороссийске, по всей видимости, была нанесена с моря",
     "strike_attack", "hedged"),
    # the media as a source, estimates
    ("ru", "По данным источников, Китай перебросил к проливу новые ракетные подразделения", "troop_buildup", "hedged"),
    ("uk", "За оцінками розвідки, Росія зосередила біля кордону 20 тисяч військових", "troop_buildup", "hedged"),
    # the future (English "will"): an act announced is a threat
    ("uk", "Іран атакуватиме американські бази в регіоні", "threat_of_force", "threat"),
    ("ru", "Россия будет наносить удары по мостам через Днепр", "threat_of_force", "threat"),
    # "ни один X не останется безнаказанным": a threat, not a strike and not a negation
    ("ru", "«Ни один удар по Белгороду не останется безнаказанным», — заявил губернатор", "threat_of_force", "threat"),
    # the aim of a build-up is threatened, the build-up is the act
    ("ru", "Армия стягивает резервы, чтобы начать наступление на Купянск", "troop_buildup", "action"),
    ("uk", "Ворог стягує резерви, щоб почати наступ на Куп'янськ", "troop_buildup", "action"),
    # a consequence cue that opens the threat ("повлечет ответ") leaves the attempt a condition
    ("ru", "Любая попытка захватить Нарву повлечет ответ всего альянса", "threat_of_force", "conditional"),
    ("ru", "Любая попытка захватить город повлечет ответ всего альянса", "threat_of_force", "conditional"),
    # a hedged plan keeps the act it is about
    ("uk", "Росія, ймовірно, готується до нового наступу на Харківщину", "invasion_offensive", "hedged"),
]))
def test_round4_modality_constructions(lang, text, category, modality):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and (main.signal, main.modality) == (category, modality), _reading(scored)


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    # a deadline's aim, a demand's content, a time yet to come: no de-escalation
    ("ru", "Вашингтон дал Москве две недели, чтобы согласиться на перемирие", "ultimatum_demand"),
    ("uk", "Трамп дав Кремлю тиждень, щоб погодитися на перемир'я", "ultimatum_demand"),
    ("ru", "Кишинёв требует от Москвы вывести войска из Приднестровья", "ultimatum_demand"),
    ("uk", "Кишинів вимагає від Москви вивести війська з Придністров'я", "ultimatum_demand"),
    ("ru", "Москва потребовала снять санкции с банков в качестве условия перемирия", "ultimatum_demand"),
    # a de-escalation in the background of the news
    ("ru", "Обстрелы Херсона продолжились несмотря на перемирие", "strike_attack"),
    ("uk", "Обстріли Херсона тривають попри перемир'я", "strike_attack"),
]))
def test_round4_demanded_and_background_de_escalation_does_not_count(lang, text, category):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and main.signal == category, _reading(scored)
    assert not [g for g in _counted(scored) if g.direction == "de-escalation"], _reading(scored)


@pytest.mark.parametrize(("lang", "text", "category", "modality"), _only([
    # a falsehood after a dash, a report called false in either order
    ("ru", "Сообщения о прорыве под Покровском — фейк, заявили в штабе", "invasion_offensive", "denied"),
    ("uk", "Повідомлення про прорив під Покровськом — фейк, заявили в штабі", "invasion_offensive", "denied"),
    ("ru", "Минобороны назвало вымыслом сообщения о переброске войск к Нарве", "troop_buildup", "denied"),
    ("uk", "Міноборони назвало вигадкою повідомлення про перекидання військ до Нарви", "troop_buildup", "denied"),
    # a deed said not to have been done is denied; a plan ruled out is negated
    ("uk", "У Міноборони РФ заявили, що не обстрілювали Суми", "strike_attack", "denied"),
    ("ru", "Минск не будет вторгаться на Украину, заявил Лукашенко", "invasion_offensive", "negated"),
    ("ru", "Кремль заявил, что не собирается наращивать войска у границ Финляндии", "troop_buildup", "negated"),
    # "никаких"/"жодних": a bare absence, not a refusal
    ("ru", "Никаких переговоров с Киевом сейчас нет", "talks_summit", "negated"),
    ("uk", "Жодних переговорів з Москвою зараз немає", "talks_summit", "negated"),
    # a ban or a veto stops what follows
    ("ru", "Венгрия заблокировала новый пакет санкций против России", "sanctions_imposed", "negated"),
    ("uk", "Угорщина заблокувала новий пакет санкцій проти Росії", "sanctions_imposed", "negated"),
    ("ru", "Вопрос о высылке посла Польши сейчас не стоит, заявили в МИД", "diplomatic_expulsion", "negated"),
]))
def test_round4_denials_and_negations(lang, text, category, modality):
    scored = score_text(text, language=lang)
    assert (category, modality) in [(g.signal, g.modality) for g in scored.signals], _reading(scored)
    assert not [g for g in _counted(scored) if g.signal == category], _reading(scored)


@pytest.mark.parametrize(("lang", "text"), _only([
    # "не менее 50 единиц" is a number, not a negation
    ("ru", "У границы отмечено скопление не менее 40 единиц российской бронетехники"),
    # a negation inside an "if" clause does not reach past its comma
    ("uk", "Якщо Кишинів не відмовиться від закону, Брюссель може призупинити безвізовий режим для молдован"),
]))
def test_round4_negation_scope(lang, text):
    scored = score_text(text, language=lang)
    assert [g for g in _counted(scored) if g.direction == "escalation"], _reading(scored)


@pytest.mark.parametrize(("lang", "text", "source", "target"), _only([
    # a trigger at the end of its clause: the first actor does it, the last other one suffers it
    ("ru", "Захарова назвала слова главы МИД Латвии бредом", "RUS", "LVA"),
    ("uk", "Сибіга назвав заяви Лаврова маренням", "UKR", "RUS"),
    # ... but not across a reported clause
    ("ru", "В Госдепе заявили, что Россия готовит наступление", "RUS", None),
    # the two parties of a talk, deal or truce are the ones joined by "and"
    ("ru", "Си и Трамп поговорили по телефону о Тайване", "CHN", "USA"),
    ("uk", "Україна та Росія за посередництва Туреччини уклали меморандум про судноплавство", "UKR", "RUS"),
]))
def test_round4_who_does_it(lang, text, source, target):
    scored = score_text(text, language=lang)
    main = _main(scored) or scored.signals[0]
    assert (main.source, main.target) == (source, target), [(g.signal, g.source, g.target) for g in scored.signals]


@pytest.mark.parametrize(("lang", "text"), _only([
    # space launches, a political course, metaphorical truces and wars, protesters at a building
    ("ru", "Роскосмос запустил ракету-носитель «Союз» с тремя спутниками"),
    ("uk", "SpaceX запустила ракету-носій із супутниками Starlink"),
    ("ru", "Ритейлеры объявили ценовое перемирие до конца года"),
    ("uk", "Уряд оголосив податкове перемир'я для малого бізнесу"),
    ("ru", "Футболист обыграл соперника и забил гол"),
    ("ru", "Фильм о штурме Берлина вышел в прокат"),
    ("uk", "Фільм про штурм Берліна вийшов у прокат"),
]))
def test_round4_everyday_words_do_not_count(lang, text):
    scored = score_text(text, language=lang)
    assert not _counted(scored), _reading(scored)


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    ("ru", "Тысячи человек вышли на митинг против политического курса правительства Грузии", "protest_unrest"),
    ("uk", "У Єревані протестувальники намагалися прорватися до будівлі парламенту", "protest_unrest"),
    # a political rival is no sport
    ("uk", "У Туреччині затримали опозиціонера, головного суперника Ердогана на виборах", "coercion_repression"),
]))
def test_round4_politics_is_not_business_or_sport(lang, text, category):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and main.signal == category, _reading(scored)


def test_round4_word_classes_are_checked(tmp_path):
    src = (LEXICON_DIR / "ru.yaml").read_text(encoding="utf-8")
    bad = src.replace("classes:\n", "classes:\n  Bad-Name: [войско]\n  grouped: [(а|б)]\n", 1)
    bad = bad.replace('"@buildup_verbs .. @units"', '"@buildup_verbs .. @no_such_class"', 1)
    path = tmp_path / "ru.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        compile_language("ru", path)
    message = str(err.value)
    assert "classes.Bad-Name" in message and "classes.grouped" in message and "@no_such_class" in message


def test_round4_max_gap_words_is_checked(tmp_path):
    src = (LEXICON_DIR / "uk.yaml").read_text(encoding="utf-8").replace("max_gap_words: 5", "max_gap_words: 40", 1)
    path = tmp_path / "uk.yaml"
    path.write_text(src, encoding="utf-8")
    with pytest.raises(ConfigError, match="max_gap_words"):
        compile_language("uk", path)


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    # what a demand asks for is not done
    ("ru", "Кремль потребовал от Вашингтона прекратить поставки оружия Украине", "arms_deliveries"),
    ("uk", "Кремль зажадав від Вашингтона припинити постачання зброї Україні", "arms_deliveries"),
    # a time yet to come frames the news ("until the fighting ends")
    ("ru", "Британия не отправит войска на Украину до окончания боевых действий", "strike_attack"),
    ("uk", "Британія не відправить війська в Україну до завершення бойових дій", "strike_attack"),
    # ... and neither is what an operation goes on until
    ("ru", "Израиль продолжит операцию в Газе до освобождения всех заложников", "relief_concession"),
    ("uk", "Ізраїль продовжить операцію в Газі до звільнення всіх заручників", "relief_concession"),
    ("ru", "Вашингтон требует от Минска освободить всех политзаключенных", "relief_concession"),
]))
def test_round4_demanded_or_awaited_acts_do_not_count(lang, text, category):
    scored = score_text(text, language=lang)
    assert not [g for g in _counted(scored) if g.signal == category], _reading(scored)


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    # a refused or ruled-out de-escalation stays negated (news_tuning/GUIDE.md: "ruled out"), not a
    # breakdown; talks refused by name are a breakdown pattern
    ("ru", "Россия не выведет войска из Абхазии, заявил Лавров", "troop_withdrawal"),
    ("uk", "Азербайджан відхилив пропозицію Єревана про тимчасове перемир'я", "ceasefire_truce"),
]))
def test_round4_a_refused_de_escalation_is_negated_not_escalated(lang, text, category):
    scored = score_text(text, language=lang)
    assert (category, "negated") in [(g.signal, g.modality) for g in scored.signals], _reading(scored)
    assert not _counted(scored), _reading(scored)


@pytest.mark.parametrize(("lang", "text", "category", "modality"), _only([
    # air-raid reports
    ("ru", "В Курске прогремели взрывы, работает ПВО", "strike_attack", "action"),
    ("uk", "У Дніпрі пролунали вибухи, працює ППО", "strike_attack", "action"),
    ("uk", "Ворожі шахеди над Черніговом", "strike_attack", "action"),
    # "..., пострадавших нет" negates the casualties, not the strikes
    ("ru", "Прилеты зафиксированы в Белгороде, пострадавших нет", "strike_attack", "action"),
    ("uk", "Прильоти зафіксовано в Бєлгороді, постраждалих немає", "strike_attack", "action"),
    # a landing, readiness for battle, agreements to be revised
    ("ru", "Китай якобы готовит высадку на острова Кинмэнь", "invasion_offensive", "hedged"),
    ("uk", "Китай нібито готує висадку на острови Кіньмень", "invasion_offensive", "hedged"),
    ("ru", "В Пхеньяне заявили, что армия готова к бою в любой момент", "threat_of_force", "threat"),
    ("uk", "У Пхеньяні заявили, що армія готова до бою будь-якої миті", "threat_of_force", "threat"),
    # sources as hedges
    ("ru", "Как сообщают источники, Россия перебросила в Приднестровье новые подразделения",
     "troop_buildup", "hedged"),
    ("uk", "Як повідомляють джерела, Росія перекинула до Придністров'я нові підрозділи", "troop_buildup", "hedged"),
    # a ballistic missile that hits is a strike; a launch of one stays nuclear posture
    ("ru", "Баллистическая ракета попала в жилой дом в Харькове", "strike_attack", "action"),
    ("uk", "КНДР запустила балістичну ракету в бік Японського моря", "nuclear_posture", "action"),
    # a treaty's name is no nuclear test
    ("uk", "Росія вийшла з Договору про заборону ядерних випробувань", "diplomatic_breakdown", "action"),
]))
def test_round4_second_pass(lang, text, category, modality):
    scored = score_text(text, language=lang)
    main = _main(scored)
    assert main is not None and (main.signal, main.modality) == (category, modality), _reading(scored)


@pytest.mark.parametrize(("lang", "text", "category", "modality"), _only([
    # wire style: the deed as a noun or a passive, the agent last or not at all
    ("ru", "Учения Северного флота с привлечением 30 кораблей начались в Баренцевом море",
     "military_exercises", "action"),
    ("uk", "Навчання Північного флоту із залученням 30 кораблів розпочалися в Баренцовому морі",
     "military_exercises", "action"),
    ("ru", "Ответ на атаки на российские аэродромы будет жестким, заявили в Кремле", "threat_of_force", "threat"),
    ("uk", "Відповідь на атаки на російські аеродроми буде жорсткою, заявили в Кремлі", "threat_of_force", "threat"),
    ("ru", "Евросоюз рассматривает возможность новых ограничений против российского алюминия",
     "sanctions_threat", "threat"),
    ("ru", "Продвижение российских войск под Северском подтвердили аналитики", "invasion_offensive", "action"),
    ("uk", "Просування російських військ під Сіверськом підтвердили аналітики", "invasion_offensive", "action"),
    ("ru", "Контроль над населенным пунктом Ивановка установлен, сообщило Минобороны России",
     "invasion_offensive", "action"),
    ("ru", "Заочный приговор вынесен в Москве журналисту издания «Новая газета»", "coercion_repression", "action"),
    # the report first, the denial after it
    ("ru", "Сообщения об ударе по Курску ракетами «Нептун» в Киеве назвали провокацией", "strike_attack", "denied"),
    ("uk", "Повідомлення про удар по Курську ракетами «Нептун» у Києві назвали провокацією",
     "strike_attack", "denied"),
]))
def test_round4_third_pass_wire_style(lang, text, category, modality):
    scored = score_text(text, language=lang)
    if modality == "denied":
        assert (category, modality) in [(g.signal, g.modality) for g in scored.signals], _reading(scored)
        assert not _counted(scored), _reading(scored)
        return
    main = _main(scored)
    assert main is not None and (main.signal, main.modality) == (category, modality), _reading(scored)


def test_round4_a_cue_that_closes_a_pattern_is_its_own_word():
    # "зупинено" ends the blockade pattern; it does not negate the blockade it closes
    scored = score_text("Судноплавство в Азовському морі зупинено через атаки дронів на порти Росії", language="uk")
    assert ("blockade", "action") in [(g.signal, g.modality) for g in _counted(scored)], _reading(scored)


@pytest.mark.parametrize(("lang", "text", "category"), _only([
    # accusations are rhetoric, not charges in a court
    ("ru", "Обвинения в адрес Москвы в причастности к диверсиям прозвучали в Берлине", "hostile_rhetoric"),
]))
def test_round4_accusations_are_no_court(lang, text, category):
    scored = score_text(text, language=lang)
    assert [g for g in scored.signals if g.signal == category and "judicial" not in g.why], _reading(scored)


@pytest.mark.parametrize(("lang", "text"), _only([
    ("ru", "Нападение на инкассаторов в Казани раскрыто, задержаны трое"),
    ("uk", "Напад на інкасаторів у Харкові розкрито, затримано трьох"),
]))
def test_round4_third_pass_crime(lang, text):
    scored = score_text(text, language=lang)
    assert not _counted(scored), _reading(scored)
