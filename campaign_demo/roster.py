"""A generated roster of the federation for the demo, and the texts it writes.

The people are invented; the units, roles and proportions follow the plan
(a principal, six leaders, the campaign office, members in the organs'
departments and branches, two municipal supervisors).
"""

from __future__ import annotations

import csv
import io

OFFICE = "wangmin"
PRINCIPAL = "lishuji"
SUPERVISORS = ("chenzz", "wufzz")
LEADERS = ("zhangfu", "liufu", "yangfu", "huangzz", "zhoufu", "xufu")

PEOPLE: tuple[tuple[str, str, str, str], ...] = (
    (OFFICE, "王敏", "office", "群教办"),
    ("sunli", "孙丽", "office", "组织部"),
    (PRINCIPAL, "李书记", "principal", "党组"),
    ("zhangfu", "张副主席", "leader", "党组"),
    ("liufu", "刘副主席", "leader", "党组"),
    ("yangfu", "杨副主席", "leader", "党组"),
    ("huangzz", "黄组长", "leader", "纪检组"),
    ("zhoufu", "周副主席", "leader", "党组"),
    ("xufu", "徐副主席", "leader", "党组"),
    ("chenzz", "陈组长", "supervisor", "市委督导组"),
    ("wufzz", "吴副组长", "supervisor", "市委督导组"),
    ("zhaoyi", "赵一", "member", "保障部"),
    ("qianer", "钱二", "member", "法工部"),
    ("sunsan", "孙三", "member", "女工部"),
    ("lisi", "李四", "member", "经工部"),
    ("zhouwu", "周五", "member", "惠民帮扶中心"),
    ("wuliu", "吴六", "member", "文化宫"),
    ("zhibu1", "机关第一支部", "branch", "机关第一支部"),
    ("zhibu2", "机关第二支部", "branch", "机关第二支部"),
    ("wgzhibu", "文化宫支部", "branch", "文化宫"),
    ("hmzhibu", "惠民帮扶中心支部", "branch", "惠民帮扶中心"),
)

THEMES = ("群众路线怎么走", "改进作风怎么办", "五好干部怎么做")


def roster_csv() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "roles", "unit"])
    writer.writerows(PEOPLE)
    return buffer.getvalue()


def name_of(user_id: str) -> str:
    return next(p[1] for p in PEOPLE if p[0] == user_id)


SECTIONS = {
    # What the definitions require (definitions/*.yaml required_sections).
    "self_review": ("一、存在的主要问题", "二、具体表现", "三、主观原因", "四、思想根源",
                    "五、努力方向和改进措施"),
    "meeting_plan": ("一、征求意见", "二、谈心谈话", "三、情况通报", "四、会议安排"),
}


def draft(title: str, version: str = "初稿", type_id: str = "") -> str:
    heads = SECTIONS.get(type_id, ("一、基本情况",))
    body = "".join(f"\n## {head}\n\n（正文）\n" for head in heads)
    duration = "\n会议时间：1天。\n" if type_id == "meeting_plan" else ""
    return f"# {title}（{version}）\n{body}{duration}"


SELF_REVIEW_V1 = """# {name}对照检查材料（初稿）

## 一、存在的主要问题
深入基层调研不够，联系服务职工群众“最后一公里”问题解决不到位。

## 二、具体表现
下基层次数偏少，听取一线职工意见不够充分。

## 三、主观原因
工作忙。

## 四、思想根源
（待补充）

## 五、改进措施
加强学习。
"""

SELF_REVIEW_V2 = SELF_REVIEW_V1.replace("（初稿）", "（修改稿）").replace(
    "工作忙。", "宗旨意识有所淡化，对群众路线的认识不够深刻。"
).replace("（待补充）", "理论学习不够系统，党性修养有待加强。").replace(
    "加强学习。", "每季度深入联系点不少于一次，建好用好“四本台账”，即知即改。"
)

RETURN_REASON = "“四个剖析”不深刻：主观原因和思想根源流于形式，改进措施不具体"
OBJECTION = "公示期间群众反映：联系点走访记录与材料所述次数不符，请核实"
RESEARCH_AGAIN = "调研时间不足2天，不符合要求，请重新深入基层调研"
FORCE_REASON = "文化宫支部组织生活会因场馆维修顺延至7月下旬，经督导组同意先行进入整改环节"

RECTIFICATION_ITEMS = (
    ("zhaoyi", "精简会议文件，整治文山会海", "2014-08-31"),
    ("qianer", "畅通12351维权热线，限时办结职工诉求", "2014-09-15"),
)

TARGET_PROGRESS = (
    ("job_fairs", 12, "上半年举办招聘会12场"),
    ("job_fairs", 9, "下半年举办招聘会9场"),
    ("employment_training", 1260, "就业培训班结业人数"),
    ("entrepreneurs_supported", 30, "创业培训扶持"),
    ("school_aid", 2000, "金秋助学发放名册"),
    ("hardship_visits", 15320, "送温暖慰问统计"),
    ("women_insured", 200, "两癌检查女职工投保"),
    ("mutual_medical_insurance", 20500, "医疗互助保险续保人次（截至9月）"),
    ("four_have_enterprises", 20, "示范企业命名"),
    ("four_have_towns", 10, "示范乡镇命名"),
    ("four_have_communities", 8, "示范社区命名（2个待验收）"),
)
