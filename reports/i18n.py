"""The report's one message catalogue, in English and Chinese, and the choice of language.

Every label, heading and sentence a report shows comes from :data:`MESSAGES` through :func:`tr`;
a test keeps both languages complete and their ``{placeholders}`` identical. Requirement texts
come from the requirement catalogue (``text`` and ``text_zh``), not from here.
"""

from __future__ import annotations

from yzt.conformance.registry import SAID_EN, Said
from yzt.reports.lang import LANGS as LANGS  # re-exported: the language choice lives in lang.py
from yzt.reports.lang import Lang as Lang
from yzt.reports.lang import default_lang as default_lang
from yzt.sim import stages as sim_stages

#: key → (English, Chinese). Placeholders are ``str.format`` fields and must match.
MESSAGES: dict[str, tuple[str, str]] = {
    # verdict words
    "verdict.pass": ("pass", "通过"),
    "verdict.warning": ("warning", "警告"),
    "verdict.waived": ("waived", "已豁免"),
    "verdict.not_applicable": ("not applicable", "不适用"),
    "verdict.incomplete": ("incomplete", "未完成"),
    "verdict.fail": ("fail", "不通过"),
    "verdict.error": ("error", "错误"),
    # page frame
    "title.check": ("yzt check — {operator} (reference operator, embedded defaults)",
                    "yzt 检查 — {operator}（参考运营商接口，内置默认配置）"),
    "title.check_url": ("yzt check — {operator} at {target}", "yzt 检查 — {operator}（{target}）"),
    "title.report": ("yzt report — {parts}", "yzt 报告 — {parts}"),
    "overall": ("Overall verdict", "总体结论"),
    "to_fix": ("What to fix", "需要整改的问题"),
    "to_fix.none": ("Nothing to fix: every judged item passed.", "无需整改：所有评判项均已通过。"),
    "to_fix.consequence": ("follows from a failure above", "由上方的问题导致"),
    "to_fix.more": ("{n} more items: see the sections below.", "另有 {n} 项，见下文各节。"),
    "regulation": ("Regulation", "监管要求"),
    "ci": ("95% CI", "95% 置信区间"),
    "requirement": ("Requirement", "要求"),
    "item": ("Item", "项目"),
    "verdict": ("Verdict", "结论"),
    "measured": ("Measured", "实测"),
    "expected": ("Expected", "要求值"),
    "message": ("Details", "说明"),
    "evidence": ("Evidence (what was sent and received)", "证据（发送与接收的内容）"),
    "passed_folded": ("Passed: {n} items under {m} requirements (expand to see)",
                      "已通过：{m} 项要求下的 {n} 个项目（展开查看）"),
    "problems": ("Items that did not pass", "未通过的项目"),
    "breaches": ("Breaches", "未达标项"),
    "breaches.none": ("No breaches.", "无未达标项。"),
    "files": ("Files", "文件"),
    "plots.fallback": ("The plots are labelled in English: no CJK font ({families}) was found, even "
                       "after rescanning the installed fonts. Install one (apt-get install "
                       "fonts-noto-cjk) and render again with yzt report.",
                       "图表使用英文标注：即使重新扫描已安装的字体，也未找到中文字体（{families}）。"
                       "请安装一种（apt-get install fonts-noto-cjk）后用 yzt report 重新生成报告。"),
    "footer": ("yzt {version} · personal data in this report is synthetic and masked.",
               "yzt {version} · 本报告中的个人信息均为合成数据并已脱敏。"),
    # sections
    "section.conform": ("Conformance (yzt conform)", "接口符合性（yzt conform）"),
    "section.load": ("Load test (yzt load)", "负载测试（yzt load）"),
    "section.sim": ("Simulation (yzt sim {scenario})", "容量仿真（yzt sim {scenario}）"),
    "section.capacity": ("Capacity (yzt load --find-capacity)", "容量测定（yzt load --find-capacity）"),
    "section.plan": ("Capacity plan (yzt plan {scenario})", "容量规划（yzt plan {scenario}）"),
    "section.interrupted": ("Interrupted", "运行中断"),
    "section.preflight": ("Preflight", "预检"),
    "reproduce": ("Reproduce", "复现命令"),
    "step.skipped": ("The {step} step did not run: {reason}", "{step} 步骤未运行：{reason}"),
    "step.no_message": ("the step wrote no results and no error message; see logs/{step}.log",
                        "该步骤未写出结果，也未给出错误信息；请查看 logs/{step}.log"),
    "unfinished.title": ("Checks that could not complete", "未能完成的检查"),
    "unfinished.intro": ("Checks that could not be judged against this endpoint: {n}. They make the "
                         "run incomplete (exit 3) when nothing failed:",
                         "无法针对该接口完成评判的检查：{n} 项。即使没有不通过项，它们也使本次运行为"
                         "“未完成”（退出码 3）："),
    "unfinished.ways": ("Two ways to finish them:", "完成这些检查有两种方式："),
    "unfinished.sandbox": ("make the sandbox able to run them, as each message above says (a rate "
                           "limit that answers 429 or 503 with Retry-After for the overload probes, "
                           "a sandbox clock for deadlines), and run again;",
                           "按上面各项的说明让沙箱具备相应条件（过载探测需要以 429 或 503 并附 "
                           "Retry-After 应答的限流，时限检查需要沙箱时钟），然后重新运行；"),
    "unfinished.waiver": ("or ask the platform for a waiver with an expiry date, save it as a file "
                          "like this one and pass it with --waivers FILE to yzt check or yzt conform:",
                          "或向平台申请带有效期的豁免，按下例保存为文件，并以 --waivers FILE 传给 "
                          "yzt check 或 yzt conform："),
    "waiver.reason": ("<why the sandbox cannot run this check>", "<沙箱无法执行该检查的原因>"),
    "waiver.approver": ("<name of the approver at the platform>", "<平台审批人姓名>"),
    "check.interrupted": ("The check was stopped by {signal} before every step ran; the sections "
                          "above hold what finished.",
                          "检查在全部步骤完成前被 {signal} 中止；以上各节为已完成部分的结果。"),
    "check.calibrated": ("{operator} measured: median {median} ms, sigma {sigma}, error ratio "
                         "{errors}, {capacity}. {meaning}",
                         "{operator} 实测：中位时延 {median} ms，sigma {sigma}，错误率 {errors}，{capacity}。"
                         "{meaning}"),
    "capacity.held": ("held every SLA", "全部 SLA 达标"),
    "capacity.broke": ("broke an SLA", "有 SLA 未达标"),
    "capacity.run": ("run {i} ({phase})", "第 {i} 轮（{phase}）"),
    "capacity.best": ("Highest sustainable rate: {rate} req/s. {stopped}.",
                      "可持续的最高速率：{rate} 次/秒。{stopped}。"),
    "capacity.none": ("No rate held. {stopped}.", "没有任何速率达标。{stopped}。"),
    "capacity.converged": ("Converged: {held} req/s held and {broke} req/s broke an SLA",
                           "已收敛：{held} 次/秒达标，{broke} 次/秒有 SLA 未达标"),
    "capacity.unbroken": ("No SLA broke in {n} runs: the capacity is at least this rate",
                          "{n} 轮中没有 SLA 未达标：容量至少为该速率"),
    "capacity.all_broke": ("Each of the {n} runs broke an SLA, down to {rate} req/s",
                           "全部 {n} 轮都有 SLA 未达标，最低试到 {rate} 次/秒"),
    "plan.planned": ("planned {values}: {metrics}", "规划 {values}：{metrics}"),
    "plan.current": ("current {values}", "现有 {values}"),
    "plan.best": ("; best value reached {values}", "；能达到的最佳值 {values}"),
    "plan.at_minimum": ("at its minimum", "已是最小值"),
    "plan.table.capacity": ("Capacity: current against planned (changed rows highlighted)",
                            "容量：现有与规划对比（有变化的行高亮）"),
    "plan.col.capacity": ("operator|resource|current|planned|difference|analytic guess|"
                          "metric at plan (95 % CI)|one unit less|binding row",
                          "运营方|资源|现有|规划|差额|解析初值|规划值下的指标（95 % 置信区间）|少一个单位时|"
                          "约束行"),
    "plan.curve.alt": ("Line chart of {title}; planned {values}", "折线图：{title}；规划 {values}"),
    "plan.over90": (" ⚠ above 90 %", " ⚠ 超过 90 %"),
    "plan.col.hourly": ("hour|calls|load (erlangs)|required (SIPP)|current agents|planned agents|"
                        "occupancy", "小时|呼叫量|话务量（爱尔兰）|需求（SIPP）|现有坐席|规划坐席|占用率"),
    "plan.col.cost": ("service level|agent-hours, busiest day|extra agent-hours|peak agents",
                      "服务水平|最忙一天的坐席小时|新增坐席小时|峰值坐席"),
    "plan.infeasible": (" (infeasible)", "（无法达到）"),
    "plan.col.cost_money": ("cost, busiest day {currency}|extra cost {currency}",
                            "最忙一天的成本 {currency}|新增成本 {currency}"),
    "plan.table.what_if": ("What if: planned capacity at scaled volumes", "假设分析：不同业务量下的规划容量"),
    "plan.item": ("item", "项目"),
    "plan.table.roster": ("Designed shifts: paid hours a day against the fixed-window plan",
                          "排班设计：每日计薪工时与固定班次规划对照"),
    "plan.col.roster": ("item|designed, hours a day|fixed windows, hours a day|difference|"
                        "fixed windows at the same hourly requirement|every hour holds in simulation",
                        "项目|设计排班（每日工时）|固定班次（每日工时）|差额|同一逐小时需求下的固定班次|"
                        "仿真中每小时达标"),
    "plan.roster.alt": ("Step chart of {title}: {designed} paid hours a day designed, {fixed} "
                        "with the fixed windows",
                        "阶梯图：{title}；设计排班每日 {designed} 工时，固定班次 {fixed} 工时"),
    "plan.costs": ("Cost a day {currency}: current {current}, planned {planned}; what-if: {what_if}",
                   "每日成本 {currency}：当前 {current}，规划 {planned}；假设分析：{what_if}"),
    "plan.yes": ("yes", "是"),
    "plan.no": ("no", "否"),
    "plan.load": ("load ×{factor}", "业务量 ×{factor}"),
    "plan.calibrated": ("calibrated {operator} from {samples} requests: median {median} ms, sigma "
                        "{sigma}, error ratio {errors}; {meaning}",
                        "{operator} 按 {samples} 次请求校准：中位时延 {median} ms，sigma {sigma}，"
                        "错误率 {errors}；{meaning}"),
    "plan.summary": ("{n} capacities planned for {scenario} ({reps} replications, seed {seed}, "
                     "{sims} simulations): {changed} differ from the scenario",
                     "为 {scenario} 规划了 {n} 项容量（{reps} 次重复，种子 {seed}，{sims} 次仿真）："
                     "{changed} 项与场景不同"),
    "plan.summary.infeasible": (", {n} cannot meet their SLA", "，{n} 项无法满足其 SLA"),
    "plan.summary.verdict": (". Verdict: {verdict}.", "。结论：{verdict}。"),
    "check.capacity": ("capacity {rate} req/s", "容量 {rate} 次/秒"),
    "check.no_capacity": ("capacity not measured", "容量未测定"),
    "section.missing": ("The {step} step ended {verdict} and wrote no {file}; see logs/{step}.log.",
                        "{step} 步骤结论为“{verdict}”，未写出 {file}；请查看 logs/{step}.log。"),
    "conform.summary": ("{n} checks against operator {operator}: {counts}; {requests} requests in "
                        "{seconds} s.",
                        "针对运营商 {operator} 执行 {n} 项检查：{counts}；"
                        "{seconds} 秒内发出 {requests} 个请求。"),
    "conform.chart": ("Checks by protocol area", "按协议领域统计的检查结果"),
    "conform.chart.alt": ("Stacked bars of passed, failing and unjudged checks in each protocol area",
                          "各协议领域中通过、未通过和未评判检查数量的堆叠柱状图"),
    "conform.chart.ylabel": ("checks", "检查数"),
    "conform.group.ok": ("passed or waived", "通过或已豁免"),
    "conform.group.bad": ("failed or error", "不通过或错误"),
    "conform.group.unjudged": ("not judged", "未评判"),
    "load.summary": ("Target {rate} req/s for {duration} s: {sent} of {scheduled} scheduled requests "
                     "sent ({offered} req/s offered).",
                     "目标速率 {rate} 次/秒，持续 {duration} 秒：计划 {scheduled} 个请求，已发出 {sent} 个"
                     "（实际 {offered} 次/秒）。"),
    "load.no_requests": ("no requests", "无请求"),
    "load.exact": ("exact over {n} requests", "基于全部 {n} 个请求精确计算"),
    "load.hist": ("Latency from intended send time, all endpoints", "自计划发送时刻起的时延（全部接口）"),
    "load.hist.alt": ("Histogram of request latencies in ms, log scale",
                      "请求时延直方图（毫秒，对数刻度）"),
    "load.hist.x": ("latency (ms, log scale)", "时延（毫秒，对数刻度）"),
    "load.hist.y": ("requests", "请求数"),
    "load.hist.empty": ("No request completed, so there is no latency to show.",
                        "没有完成的请求，因此没有可展示的时延。"),
    "load.no_traffic": ("no requests to this endpoint in the run", "本次运行未向该接口发送请求"),
    "sim.summary": ("{reps} replications of scenario {scenario}, seed {seed}, sampling 1 in {one_in}; "
                    "means with 95 % confidence intervals.",
                    "场景 {scenario} 共 {reps} 次重复仿真，种子 {seed}，抽样比例 1/{one_in}；"
                    "数值为均值及 95% 置信区间。"),
    "sim.flat": ("{what} stayed at {value} over all {hours} simulated hours.",
                 "在全部 {hours} 个仿真小时内，{what} 始终为 {value}。"),
    "sim.series.x": ("hour", "小时"),
    "sim.series.y": ("mean over replications", "各次重复的均值"),
    "sim.series.alt": ("Line chart of {what} over the simulated hours", "{what} 随仿真时间变化的折线图"),
    "sim.nothing": ("nothing to judge in this scenario", "本场景中没有可评判的事件"),
    "sim.breached": ("breached (mean over replications)", "未达标（各次重复的均值）"),
    "sim.abandonment": ("abandonment {value}", "放弃率 {value}"),
    "sim.late": ("{late} of {total} replies after {deadline} h",
                 "{total} 条回复中 {late} 条晚于 {deadline} 小时"),
    "sim.no_cases": ("no cases", "无案例"),
    "console.plan.head": ("plan of {scenario}: {reps} replications, seed {seed}, {confidence} "
                          "confidence, {sims} simulations",
                          "{scenario} 的规划：{reps} 次重复，种子 {seed}，置信度 {confidence}，"
                          "共 {sims} 次仿真"),
    "console.plan.cols": ("operator|resource|current → planned|binding row|verdict",
                          "运营方|资源|现有 → 规划|约束行|结论"),
    "console.plan.infeasible": ("INFEASIBLE {reason}; best value reached {best}",
                                "无法达到 {reason}；能达到的最佳值 {best}"),
    "console.plan.what_if": ("what if: the planned capacity at each load (! infeasible)",
                             "假设分析：各业务量下的规划容量（! 表示无法达到）"),
    "console.plan.verdict": ("verdict", "结论"),
    "console.plan.outside": ("{n} row(s) of capacities not planned here still breach ({rows}): "
                             "'yzt sim planned.yaml' exits 1 on them (widen --operators/--resources "
                             "to plan them)",
                             "{n} 行未在此规划的容量仍未达标（{rows}）：'yzt sim planned.yaml' 会因此以 1 "
                             "退出（扩大 --operators/--resources 以规划它们）"),
    "console.plan.verdict_line": ("verdict: {verdict}", "结论：{verdict}"),
    "sim.table.objectives": ("Service objectives (the platform's own targets, beside the SLAs)",
                             "服务目标（平台自身目标，与 SLA 分开）"),
    "sim.col.objectives": ("objective|scope|measured (95 % CI)|target|verdict|source",
                           "目标|范围|测量值（95 % 置信区间）|目标值|结论|来源"),
    "sim.table.profile": ("Targets from SLA profile {name}: standard and clause of each",
                          "客服热线目标来自 SLA 档案 {name}：各目标的标准与条款"),
    "sim.col.profile": ("target|value|document|clause|requirement as published",
                        "目标|数值|文件|条款|公开原文"),
}


#: What runs say (:data:`yzt.conformance.registry.SAID_EN`, whose English wording the runs record)
#: in Chinese: ``said.KEY`` in :data:`MESSAGES`. Values inside are quoted as recorded.
SAID_ZH: dict[str, str] = {
    "received_expected": "收到：{received}；应为：{expected}",
    "status_json_body": "{status}，正文为 JSON",
    "status_json_object": "{status}，正文为 JSON 对象",
    "status_not_object": "{status}，但正文不是 JSON 对象",
    "not_json": "{outcome}，但正文不是 JSON",
    "json_valid_against": "符合 {schema} 的 JSON",
    "valid_against_schema": "符合 {schema} 模式的正文",
    "extra_members": "{schema} 应答中有多余成员 {members}（允许：应答是开放的，平台会忽略它们）",
    "pii_in_answer": "对 {request} 的 {status} 应答中有{what}",
    "pii_none": "任何应答中都没有完整的身份证号、手机号或当事人姓名",
    "shape.msisdn": "一个未脱敏的 11 位号码",
    "shape.id_number": "一个 18 位身份证号",
    "shape.name": "当事人的姓名",
    "msisdn_masked_is": "msisdn_masked 为 {value}",
    "mask_3_4_4": "前 3 位数字 + **** + 后 4 位数字",
    "more": "{said}（另有 {n} 项）",
    "consequence": "由 {cause} 导致：{said}",
    "strict": "{said}（警告，因 --strict 记为不通过）",
    "waived": "{said} — {verdict}，已豁免至 {until}（批准人 {approver}：{reason}）",
    "waiver_expired": "{said} — 豁免已于 {until} 到期（批准人 {approver}），未予适用",
    "counted_primary_ran": "{said}（按主要问题计：{cause} 已运行且未失败）",
    "counted_primary_not_run": "{said}（按主要问题计：{cause} 未运行）",
    "as_expected": "符合预期",
    "verdict_fail": "不通过",
    "verdict_error": "错误",
    "verdict_incomplete": "未完成",
    "production_needs_clock": "生产环境配置下不适用：需要沙箱时钟（POST /v1/sandbox/clock），"
                              "生产接口不提供",
    "note.profile": "配置 {profile}",
    "note.profile_strict": "配置 {profile}，--strict",
    "note.preflight": "预检：健康状态 {health}，运营商 {operator}，对 {subject} 签名查询 "
                      "card-count = {count}，与测试数据一致",
    "note.preflight_differs": "预检：健康状态 {health}，运营商 {operator}，对 {subject} 签名查询 "
                              "card-count = {count}，测试数据为 {expected}",
    "note.preflight_no_count": "预检：健康状态 {health}，运营商 {operator}，对 {subject} 签名查询 "
                               "card-count 的回答没有数量",
    "note.no_sandbox_clock": "无沙箱时钟（POST /v1/sandbox/clock → {answer}）；时限类检查无法运行",
    "note.production_clock": "生产环境配置：不使用沙箱时钟",
    "note.run_seed": "运行种子 {seed}（--run-seed）",
}
MESSAGES.update({f"said.{key}": (SAID_EN[key], SAID_ZH[key]) for key in SAID_EN})
# every stage's words (``stage.<stage>.<key>``) and the names of its time series (``series.<key>``)
MESSAGES.update({f"stage.{st.name}.{key}": words for st in sim_stages.stages()
                 for key, words in st.messages.items()})
MESSAGES.update({f"series.{s.key}": (s.en, s.zh) for st in sim_stages.stages() for s in st.series})
#: Between the items of a list of things said (:data:`yzt.conformance.registry.LISTS_EN`).
_SEPARATORS = {"list": ("; ", "；"), "and": (", ", "、")}


def say(said: Said | str, lang: Lang, recorded: str = "") -> str:
    """What a run said, worded in ``lang``; a plain string (free text a run recorded) as it is.

    A key this catalogue does not know (records of a newer yzt) gives ``recorded``, the English
    wording the run recorded beside the values."""
    if isinstance(said, str):
        return said
    try:
        return said.phrase(lambda key: tr(f"said.{key}", lang),
                           lambda kind: _SEPARATORS[kind][lang == "zh"])
    except (KeyError, IndexError, ValueError):
        return recorded


def tr(key: str, lang: Lang, **fields: object) -> str:
    """The message ``key`` in ``lang`` with its fields filled; KeyError for an unknown key."""
    en, zh = MESSAGES[key]
    text = zh if lang == "zh" else en
    return text.format(**fields) if fields else text


def verdict_word(value: str, lang: Lang) -> str:
    """A verdict's word in ``lang`` (``value`` is a :class:`~yzt.verdict.Verdict` value)."""
    return tr(f"verdict.{value}", lang)


def _twin_words() -> None:
    from yzt.twin.words import WORDS

    MESSAGES.update(WORDS)


_twin_words()
