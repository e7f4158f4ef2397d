// The manager view's chart: promises kept per metric over the last 7, 30 and 90 days.
// The figures come from the page's JSON island (compliance-data); the table under the
// chart holds the same figures, so the page reads fully without this script.
(() => {
  "use strict";

  const COLOURS = ["#2149b5", "#6f8fe0", "#b4c5f1"];

  function label(point) {
    return point === null ? "—" : `${point.percent.toFixed(1)} % (${point.met}/${point.decided})`;
  }

  function draw(element, data) {
    // Metrics down the side, one group of bars each: long names stay readable on phones.
    element.style.height = `${Math.max(220, 70 + data.metrics.length * 56)}px`;
    const chart = echarts.init(element, null, { renderer: "svg" });
    const values = data.series.flatMap((series) =>
      series.points.filter((point) => point !== null).map((point) => point.percent),
    );
    // Start the axis near the lowest bar, so 96 % and 99 % do not look alike.
    const lowest = values.length ? Math.min(...values) : 0;
    const floor = lowest >= 50 ? Math.floor(lowest / 10) * 10 - 10 : 0;
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 24, top: 36, bottom: 28, containLabel: true },
      legend: { top: 0, itemWidth: 14, itemHeight: 10 },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: (items) => {
          const lines = items.map(
            (item) => `${item.marker}${item.seriesName}: ${label(data.series[item.seriesIndex].points[item.dataIndex])}`,
          );
          return [items[0].axisValueLabel, ...lines].join("<br>");
        },
      },
      yAxis: {
        type: "category",
        data: data.metrics,
        inverse: true,
        axisLabel: { width: 120, overflow: "break" },
      },
      xAxis: {
        type: "value",
        name: data.axis,
        nameLocation: "middle",
        nameGap: 22,
        min: Math.max(floor, 0),
        max: 100,
      },
      series: data.series.map((series, index) => ({
        name: series.name,
        type: "bar",
        barMaxWidth: 14,
        itemStyle: { color: COLOURS[index % COLOURS.length] },
        data: series.points.map((point) => (point === null ? null : point.percent)),
      })),
    });
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    const element = document.getElementById("compliance-chart");
    const source = document.getElementById("compliance-data");
    if (!element || !source || typeof echarts === "undefined") return;
    draw(element, JSON.parse(source.textContent));
  });
})();
