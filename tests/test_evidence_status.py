"""Evidence status: a document's outline, and achieved vs under way vs planned by grammar, section and date."""

from __future__ import annotations

from review.proposer.status import DocumentVoice, document_year, judge, load_vocabulary, section_role
from vectorstore.chunking import chunk
from vectorstore.sections import outline, sections

REPORT = """政府工作报告
——2031年1月20日在某省人民代表大会上
各位代表：
一、2030年工作回顾
过去一年，我们坚持稳中求进。
（一）基础设施建设取得新进展。
全年新建5G基站2万座，城际高铁建成通车，全省5G网络实现县城以上全覆盖。
二、2031年工作安排
今年是关键之年。
（一）加快建设新型基础设施。
加快建设全光网络城市，推进卫星互联网应用。
"""
VOICE = DocumentVoice(2031, 0, 0)


def test_the_outline_of_a_work_report_nests_its_numbering_styles():
    headings = [(h.depth, h.text) for h in outline(REPORT)]
    assert (1, "一、2030年工作回顾") in headings and (2, "（一）基础设施建设取得新进展。") in headings
    assert (1, "二、2031年工作安排") in headings and (2, "（一）加快建设新型基础设施。") in headings
    paths = {s.path for s in sections(REPORT)}
    assert ("二、2031年工作安排", "（一）加快建设新型基础设施。") in paths


def test_chunks_never_straddle_sections_and_carry_their_headings():
    passages = chunk(REPORT, "zh")
    tasks = [p for p in passages if "全光网络" in p.text]
    assert tasks and tasks[0].section == ("二、2031年工作安排", "（一）加快建设新型基础设施。")
    assert all("回顾" not in p.text for p in tasks) and all("建成通车" not in p.text for p in tasks)


def test_a_contents_page_and_list_items_are_not_headings():
    text = "Table of Contents\nFoundation 1. Governance .......................... 15\n" \
           "This Budget will:\n(a) invest in new capabilities;\n(b) advance our green transition; and\n"
    assert [h.text for h in outline(text)] == ["Table of Contents"]


def test_the_section_decides_an_unmarked_sentence_and_turns_tasks_into_plans():
    past = ("一、2030年工作回顾", "（一）基础设施建设取得新进展。")
    future = ("二、2031年工作安排", "（一）加快建设新型基础设施。")
    markers = load_vocabulary().markers(["zh"])
    assert section_role(past, markers, 2031)[0] == "past" and section_role(future, markers, 2031)[0] == "future"
    sentence = "加快建设全光网络城市，推进卫星互联网应用。"
    assert judge(sentence, sentence.index("全光"), future, ["zh"], VOICE).status == "planned"
    assert judge(sentence, sentence.index("全光"), past, ["zh"], VOICE).status == "under-way"
    built = "全年新建5G基站2万座，城际高铁建成通车，全省5G网络实现县城以上全覆盖。"
    assert judge(built, built.index("高铁"), past, ["zh"], VOICE).status == "achieved"
    assert judge("将建成城际高铁网络。", 3, past, ["zh"], VOICE).status == "planned"


def test_english_grammar_dates_and_the_document_voice():
    none: tuple[str, ...] = ()
    assert judge("We will roll out 5G across the island.", 15, none, ["en"], VOICE).status == "planned"
    assert judge("The new fibre line is under construction.", 8, none, ["en"], VOICE).status == "under-way"
    assert judge("We have completed the fibre network.", 25, none, ["en"], VOICE).status == "achieved"
    assert judge("Fibre for every home by 2035.", 0, none, ["en"], VOICE).status == "planned"
    strategy = DocumentVoice(2031, planned=30, achieved=5)
    assert judge("Fibre for every home.", 0, none, ["en"], strategy).status == "planned"
    assert judge("Fibre for every home.", 0, none, ["en"], VOICE).status == "achieved"
    judgement = judge("We will roll out 5G.", 15, none, ["en"], VOICE)
    assert "will" in judgement.reason.lower()


def test_arabic_future_and_completion():
    none: tuple[str, ...] = ()
    assert judge("سيتم إطلاق شبكة الجيل الخامس في المدينة.", 10, none, ["ar"], VOICE).status == "planned"
    assert judge("تم إطلاق شبكة الجيل الخامس في المدينة.", 10, none, ["ar"], VOICE).status == "achieved"


def test_a_document_states_its_own_year_in_its_title_block():
    assert document_year(REPORT, None, 2026) == 2031
    assert document_year("no date here", None, 2026) == 2026
    assert document_year(REPORT, 2029, 2026) == 2029
