/**
 * Go's text/template, as Helm (chart templates) and Prometheus (alert
 * annotations and labels) run it over the text deploy render writes: the
 * one escape for that format. Every `{{` of text the CLI did not write
 * becomes the action that prints `{{`, so the text stays a value.
 */
export function goTemplateLiteral(text: string): string {
  return text.replace(/\{\{/g, '{{ "{{" }}');
}
