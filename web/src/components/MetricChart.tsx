// One metric per stored day as bars, in plain SVG: a restated day (pulled
// again by a later job) carries a dot above its bar. Screen readers get a
// summary (role="img") and the numbers in a visually hidden table.
import { formatDay, formatMetric, METRICS, type DayPoint, type Metric } from "../lib/reports";
import type { DateFormat } from "../lib/time";

const WIDTH = 720;
const HEIGHT = 240;
const PAD = { top: 24, right: 12, bottom: 28, left: 12 };

interface Props {
  days: DayPoint[];
  metric: Metric;
  currency: string | null | undefined;
  dateFormat: DateFormat;
}

export function MetricChart({ days, metric, currency, dateFormat }: Props) {
  const info = METRICS.find((m) => m.key === metric) ?? METRICS[0]!;
  const format = (value: number) => formatMetric(value, info.money, currency);
  const values = days.map((d) => d.totals[metric]);
  const max = Math.max(0, ...values);
  const total = values.reduce((sum, v) => sum + v, 0);
  const restated = days.filter((d) => d.restated).length;
  const peak = days.find((d) => d.totals[metric] === max);
  const first = days[0];
  const last = days[days.length - 1];
  const summary =
    first && last
      ? `${info.label} per day over ${days.length} stored day${days.length === 1 ? "" : "s"}, ` +
        `${formatDay(first.date, dateFormat)} to ${formatDay(last.date, dateFormat)}: total ${format(total)}` +
        (peak ? `, highest ${format(max)} on ${formatDay(peak.date, dateFormat)}` : "") +
        `; ${restated} day${restated === 1 ? "" : "s"} restated.`
      : `No stored days of ${info.label.toLowerCase()} yet.`;

  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = days.length > 0 ? plotWidth / days.length : plotWidth;
  const barWidth = Math.max(2, slot * 0.7);
  // A date under every bar while they fit, else about eight of them.
  const labelEvery = Math.max(1, Math.ceil(days.length / 8));

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} data-testid="report-chart">
        <line className="chart-axis" x1={PAD.left} x2={WIDTH - PAD.right} y1={HEIGHT - PAD.bottom} y2={HEIGHT - PAD.bottom} />
        <text className="chart-label" x={PAD.left} y={14}>
          {format(max)}
        </text>
        {days.map((day, i) => {
          const height = max > 0 ? (day.totals[metric] / max) * plotHeight : 0;
          const x = PAD.left + i * slot + (slot - barWidth) / 2;
          const y = HEIGHT - PAD.bottom - height;
          return (
            <g key={day.date}>
              <rect className={day.restated ? "chart-bar chart-bar-restated" : "chart-bar"} x={x} y={y} width={barWidth} height={height}>
                <title>{`${formatDay(day.date, dateFormat)}: ${format(day.totals[metric])}${day.restated ? " (restated)" : ""}`}</title>
              </rect>
              {day.restated ? <circle className="chart-restated" cx={x + barWidth / 2} cy={y - 8} r={4} /> : null}
              {i % labelEvery === 0 ? (
                <text className="chart-label" x={x + barWidth / 2} y={HEIGHT - 8} textAnchor="middle">
                  {day.date.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="chart-legend small" aria-hidden="true">
        <span>
          <span className="swatch swatch-bar" /> {info.label} of a stored day
        </span>
        <span>
          <span className="swatch swatch-restated" /> restated: a later pull changed it
        </span>
      </figcaption>
      <table className="sr-only">
        <caption>{info.label} per stored day</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            {METRICS.map((m) => (
              <th key={m.key} scope="col">
                {m.label}
              </th>
            ))}
            <th scope="col">Restated</th>
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr key={day.date}>
              <th scope="row">{formatDay(day.date, dateFormat)}</th>
              {METRICS.map((m) => (
                <td key={m.key}>{formatMetric(day.totals[m.key], m.money, currency)}</td>
              ))}
              <td>{day.restated ? "restated" : "no"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
