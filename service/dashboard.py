"""The Grafana dashboard shipped by `textauto package`: one panel per question an operator asks."""

from __future__ import annotations

from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
PREDICT = 'route="/v1/predict"'

PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Request rate (req/s)", "reqps", [
        ("sum by (route, status) (rate(textauto_http_requests_total[1m]))", "{{route}} {{status}}"),
    ]),
    ("Error rate (share of requests)", "percentunit", [
        ('sum(rate(textauto_http_requests_total{status=~"4..|5.."}[5m])) '
         "/ sum(rate(textauto_http_requests_total[5m]))", "errors"),
        ("sum by (kind) (rate(textauto_errors_total[5m]))", "{{kind}} /s"),
    ]),
    ("Latency quantiles, /v1/predict", "s", [
        (f"histogram_quantile({q}, sum by (le) (rate(textauto_http_request_duration_seconds_bucket"
         f"{{{PREDICT}}}[5m])))", f"p{int(q * 100)}")
        for q in (0.5, 0.9, 0.99)
    ]),
    ("Predictions by class (per s)", "short", [
        ("sum by (label) (rate(textauto_predictions_total[5m]))", "{{label}}"),
    ]),
    ("Prediction confidence distribution", "short", [
        ("sum by (le) (rate(textauto_prediction_confidence_ratio_bucket[5m]))", "{{le}}"),
    ]),
    ("Median confidence (drift signal)", "percentunit", [
        ("histogram_quantile(0.5, sum by (le) (rate(textauto_prediction_confidence_ratio_bucket[5m])))",
         "median"),
    ]),
    ("Model inference latency", "s", [
        ("histogram_quantile(0.99, sum by (le) (rate(textauto_inference_duration_seconds_bucket[5m])))",
         "p99"),
    ]),
    ("Requests in flight", "short", [("sum(textauto_http_requests_in_flight)", "in flight")]),
]  # fmt: skip


def dashboard(name: str) -> dict[str, Any]:
    panels = []
    for i, (title, unit, targets) in enumerate(PANELS):
        panels.append(
            {
                "id": i + 1,
                "title": title,
                "type": "heatmap" if "distribution" in title else "timeseries",
                "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {
                        "refId": chr(ord("A") + j),
                        "expr": expr,
                        "legendFormat": legend,
                        "datasource": DATASOURCE,
                    }
                    for j, (expr, legend) in enumerate(targets)
                ],
            }
        )
    return {
        "uid": "textauto-service",
        "title": "textauto service",
        "description": f"Model {name}: traffic, errors, latency, predictions and confidence.",
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "tags": ["textauto"],
        "panels": panels,
    }
