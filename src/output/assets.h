/* assets.h — the writers' script, style and markup, each a file of its own in
 * src/output/assets/, compiled in as a C string by tools/embed.sh at build
 * time (into $(BUILD)/gen/assets.c). Nothing from a profile is ever put into
 * them: the writers pass data to the scripts as JSON or variables beside them. */
#ifndef PYFLARE_OUTPUT_ASSETS_H
#define PYFLARE_OUTPUT_ASSETS_H

/* The html report (html.c): its style, the markup of its body, its script. */
extern const char out_asset_report_css[];
extern const char out_asset_report_html[];
extern const char out_asset_report_js[];

/* The svg flame graph (svg.c): its style and script. */
extern const char out_asset_flame_css[];
extern const char out_asset_flame_js[];

#endif
