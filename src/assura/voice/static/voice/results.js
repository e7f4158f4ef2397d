// Charts of the survey results page: the data comes from the page's JSON island.
(() => {
  "use strict";

  function numbers(values) {
    return values.filter((value) => value !== null);
  }

  function draw(id, option) {
    const element = document.getElementById(id);
    if (!element || typeof echarts === "undefined") return;
    const chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption(option);
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    const source = document.getElementById("voice-chart-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const grid = { left: 48, right: 24, top: 24, bottom: 32 };

    draw("chart-csat", {
      grid,
      tooltip: {},
      xAxis: { type: "category", data: data.csat.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: data.csat.counts, itemStyle: { color: "#2f5bd3" } }],
    });

    draw("chart-nps", {
      grid,
      tooltip: {},
      xAxis: { type: "category", data: data.nps.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: [{
        type: "bar",
        data: data.nps.counts.map((value, index) => ({
          value,
          itemStyle: { color: ["#b42318", "#9a5b00", "#137a3f"][index] },
        })),
      }],
    });

    draw("chart-trend", {
      grid: { left: 48, right: 48, top: 36, bottom: 32 },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      xAxis: { type: "category", data: data.trend.months },
      yAxis: [
        { type: "value", min: 1, max: 5, name: data.trend.csat_label },
        { type: "value", min: -100, max: 100, name: data.trend.nps_label },
      ],
      series: [
        { name: data.trend.csat_label, type: "line", data: data.trend.csat, connectNulls: true },
        { name: data.trend.nps_label, type: "line", yAxisIndex: 1, data: data.trend.nps, connectNulls: true },
      ],
    });

    if (data.servqual.dimensions.length) {
      draw("chart-servqual", {
        grid: { left: 96, right: 24, top: 24, bottom: 32 },
        tooltip: {
          formatter: (p) => {
            const i = p.dataIndex;
            return `${p.name}: ${data.servqual.gaps[i]} [${data.servqual.low[i]}, ${data.servqual.high[i]}]`;
          },
        },
        xAxis: {
          type: "value",
          name: data.servqual.label,
          nameLocation: "middle",
          nameGap: 24,
          // Wide enough for every interval's whiskers, and always showing zero.
          min: Math.floor(Math.min(0, ...numbers(data.servqual.low)) * 2) / 2,
          max: Math.ceil(Math.max(0, ...numbers(data.servqual.high)) * 2) / 2,
        },
        yAxis: { type: "category", data: data.servqual.dimensions, inverse: true },
        series: [
          {
            type: "bar",
            data: data.servqual.gaps.map((value) => ({
              value,
              itemStyle: { color: value !== null && value < 0 ? "#b42318" : "#137a3f" },
            })),
          },
          {
            // The 95 % interval of each dimension's gap, drawn as a whisker.
            type: "custom",
            renderItem: (params, api) => {
              const low = api.coord([api.value(0), api.value(2)]);
              const high = api.coord([api.value(1), api.value(2)]);
              const h = api.size([0, 1])[1] * 0.2;
              const style = { stroke: "#1b2430", lineWidth: 1.5 };
              return {
                type: "group",
                children: [
                  { type: "line", shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style },
                  { type: "line", shape: { x1: low[0], y1: low[1] - h, x2: low[0], y2: low[1] + h }, style },
                  { type: "line", shape: { x1: high[0], y1: high[1] - h, x2: high[0], y2: high[1] + h }, style },
                ],
              };
            },
            data: data.servqual.low
              .map((low, i) => [low, data.servqual.high[i], i])
              .filter((row) => row[0] !== null && row[1] !== null),
            z: 10,
          },
        ],
      });
    }
  });
})();
