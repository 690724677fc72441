"""The twin report's words, English and Chinese (merged into :data:`yzt.reports.i18n.MESSAGES`)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "section.twin": ("Model against the live federation ({scenario})",
                     "模型与在线联邦对照（{scenario}）"),
    "twin.summary": ("{windows} live windows of {window} s at {scale}× the scenario's volume "
                     "({queries} queries, {requests} requests), each simulated on its own "
                     "arrival trace; load average {load_before} → {load_after}. {rule}.",
                     "{windows} 个在线时间窗，每个 {window} 秒，业务量为场景的 {scale} 倍"
                     "（{queries} 次查询，{requests} 个请求），每个时间窗按其到达序列单独仿真；"
                     "系统负载 {load_before} → {load_after}。{rule}。"),
    "twin.rule": ("A metric agrees when the live mean is within {tolerance}% of the model, inside "
                  "the model's 95% CI on the same traces, or below the resolution",
                  "若在线均值与模型相差不超过 {tolerance}%、落在模型在同一到达序列上的 95% "
                  "置信区间内或低于测量分辨率，则该指标一致"),
    "twin.metric.fanout_p50_s": ("fan-out answer time, median", "扇出应答时间中位数"),
    "twin.metric.fanout_p95_s": ("fan-out answer time, p95", "扇出应答时间 P95"),
    "twin.metric.pool_wait_mean_s": ("mean wait for a connection", "等待连接的平均时间"),
    "twin.metric.timeouts_per_query": ("timed-out attempts a query", "每次查询的超时次数"),
    "twin.metric.retries_per_query": ("retries a query", "每次查询的重试次数"),
    "twin.metric.answer_p95_s": ("answer time of {node}, p95", "{node} 应答时间 P95"),
    "twin.measured": ("live {live} ({ci})", "在线 {live}（{ci}）"),
    "twin.expected": ("model {model} ({ci})", "模型 {model}（{ci}）"),
    "twin.error": ("error {error}", "误差 {error}"),
    "twin.saturated": ("The machine itself saturated during the live windows ({signals}): the "
                       "model has no CPU in it, so this run is not testable here.",
                       "在线时间窗期间本机已饱和（{signals}）：模型不包含 CPU，"
                       "因此本次运行在此无法判定。"),
    "twin.machine": ("Machine: {signals}.", "本机：{signals}。"),
    "twin.defect": ("Seeded model defect applied: {defect}.", "已注入模型缺陷：{defect}。"),
    "twin.calibrated": ("Calibrated scenario: {file} (operators fitted: {operators}).",
                        "校准后的场景：{file}（已拟合的运营商：{operators}）。"),
    "twin.table": ("Live against model", "在线与模型对照"),
    "twin.col.metric": ("Metric", "指标"),
    "twin.col.live": ("Live (95% CI)", "在线（95% 置信区间）"),
    "twin.col.model": ("Model (95% CI)", "模型（95% 置信区间）"),
    "twin.col.error": ("Error", "误差"),
    "twin.col.verdict": ("Verdict", "结论"),
    "twin.qq.title": ("Fan-out answer time: live against model quantiles",
                      "扇出应答时间：在线与模型分位数对照"),
    "twin.qq.x": ("model quantile (s)", "模型分位数（秒）"),
    "twin.qq.y": ("live quantile (s)", "在线分位数（秒）"),
    "twin.qq.equal": ("live = model", "在线 = 模型"),
    "twin.qq.alt": ("Quantile–quantile plot of the fan-out answer time, 1st to 99th percentile: "
                    "live median {live} s against model median {model} s.",
                    "扇出应答时间的分位数对照图（第 1 至第 99 百分位）：在线中位数 {live} 秒，"
                    "模型中位数 {model} 秒。"),
}
