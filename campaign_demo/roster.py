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


#: The sections each type's content carries, as a heading and a paragraph: every
#: required section of definitions/*.yaml (their keywords are in the headings),
#: so a ``content_complete`` move accepts the draft.
SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "research_report": (
        ("一、“四风”问题和关系群众切身利益的问题", "基层反映会议多、检查多，困难职工帮扶"
         "“最后一公里”仍有梗阻。"),
        ("二、对落实中央八项规定、省委十项规定和市委七项规定的总体评价", "公务接待、"
         "用车明显规范，个别部门会风文风仍需改进。"),
        ("三、意见和建议", "减少会议文件，领导干部每月到联系点解决一件实事。"),
    ),
    "self_review": (
        ("一、存在的主要问题", "联系服务职工群众不够深入，“四风”问题在不同程度上存在。"),
        ("二、具体表现", "会议多、文件多，下基层调研走马观花，解决职工实际困难不够及时。"),
        ("三、主观原因", "宗旨意识有所淡化，对群众路线的认识不够深刻。"),
        ("四、思想根源", "理论学习不够系统，党性修养有待加强。"),
        ("五、努力方向和改进措施", "每季度深入联系点不少于一次，建好用好“四本台账”。"),
    ),
    "meeting_plan": (
        ("一、征求意见", "会前通过座谈、发放征求意见表等方式广泛征求意见。"),
        ("二、谈心谈话", "主要负责同志与班子成员逐一谈心，班子成员之间互相谈心。"),
        ("三、情况通报", "会后在组织生活会上通报民主生活会情况。"),
        ("四、会议安排", "邀请上级纪检机关和党委组织部门同志参加，市委督导组到会指导。"),
    ),
    "mobilisation_speech": (
        ("一、动员报告（党组书记）", "深刻认识开展教育实践活动的重大意义，把思想和行动统一到"
         "中央、省委、市委的部署上来，以“照镜子、正衣冠、洗洗澡、治治病”为总要求。"),
        ("二、具体安排部署（分管领导）", "活动分前期准备、具体实施、检查总结三个阶段，"
         "各部门、各支部要按实施方案明确的时间节点抓好落实。"),
    ),
    "rectification_plan": (
        ("一、整改事项", "文山会海、联系基层不够、服务职工“最后一公里”不畅等突出问题。"),
        ("二、整改措施", "精简会议文件，建立领导干部联系点制度，畅通“12351”维权热线。"),
        ("三、整改责任", "主要负责同志负总责，班子成员按分工负责，责任单位为各部室。"),
        ("四、整改时限", "近期问题9月底前完成，制度建设年底前完成。"),
        ("五、整改效果", "群众满意度测评达到“较好”以上。"),
        ("六、近期整改任务", "立即清理会议文件，9月底前会议、文件数量同比下降三成。"),
        ("七、中长期整改安排", "健全联系服务职工群众长效机制，纳入年度目标考核。"),
    ),
    "rules_review": (
        ("一、废止的制度", "不合中央、省市委要求的公务接待、车辆使用规定3项，立即废止。"),
        ("二、修订的制度", "修订完善科学决策、厉行节约、经费管理等制度6项。"),
        ("三、新立的制度", "新立领导干部联系基层、作风考核评价等制度4项。"),
        ("四、长期坚持的制度", "经实践检验行之有效、职工群众认可的制度12项，长期坚持。"),
    ),
    "summary_report": (
        ("一、基本做法", "坚持领导带头、以上率下，学习教育、听取意见、查摆问题、整改落实"
                         "环环相扣。"),
        ("二、基本成效", "“四风”突出问题得到整治，十大惠民行动惠及职工群众，机关作风明显转变。"),
        ("三、基本经验", "坚持问题导向、开门搞活动、边学边查边改，建章立制巩固成果。"),
        ("四、意见和建议", "建立联系服务职工群众长效机制，把作风建设融入工会日常工作。"),
    ),
}


def draft(title: str, version: str = "初稿", type_id: str = "") -> str:
    sections = SECTIONS.get(type_id, (("一、基本情况", f"{title}的基本情况和主要内容。"),))
    body = "".join(f"\n## {head}\n\n{text}\n" for head, text in sections)
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

#: 即知即改: each team member's problem, named at the discussion meetings and put
#: right at once (matter, measures), the principal's too.
QUICK_FIXES: dict[str, tuple[str, str]] = {
    PRINCIPAL: ("党组会议题准备不充分、会议时间偏长", "会前印发议题材料，党组会一般不超过2小时"),
    "zhangfu": ("下基层调研层层打招呼、陪同人员多", "调研不打招呼、轻车简从，陪同不超过2人"),
    "liufu": ("困难职工帮扶审批环节多、时间长", "简化审批流程，救助资金10个工作日内发放到位"),
    "yangfu": ("机关干部上班迟到早退", "严格执行考勤制度，每月通报考勤情况"),
    "huangzz": ("节假日公务用车未封存", "公车统一管理，节假日一律封存，违者严肃处理"),
    "zhoufu": ("职工来信来访答复不及时", "建立信访台账，5个工作日内答复"),
    "xufu": ("文化宫培训班收费项目未公开", "收费项目和标准在服务大厅醒目位置公示"),
}
QUICK_FIX_DEADLINE = "2014-05-31"

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
