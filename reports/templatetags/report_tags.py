"""``{% case_report_panel case as report_panel %}``: the delivered report's panel for a page
that is not composed from the case page's panels (reports.panels)."""

from django import template

from ..panels import case_report_panel

register = template.Library()
register.simple_tag(case_report_panel)
