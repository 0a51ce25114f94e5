/*
 * test_html_check.c - the HTML of IIIF Presentation 3.0 §4.5: what a
 * careful client would keep passes, everything it would strip is refused,
 * each with the reason a curator can act on.
 */
#include "check.h"
#include "src/present/present_check.h"

static char why[160];

static int html_ok(const char *s)
{
	why[0] = '\0';
	return ts_present_check_html(s, strlen(s), why, sizeof why);
}

#define EXPECT_HTML_REFUSED(s, reason) do { \
	EXPECT(!html_ok(s)); \
	if (!strstr(why, reason)) { \
		printf("    %s:%d: reason \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, why, reason); \
		check_current_failed = 1; \
	} } while (0)

static void every_allowed_tag_and_attribute_passes(void)
{
	EXPECT(html_ok("<p>a <b>b</b> <i>i</i> <small>s</small> <sub>1</sub><sup>2</sup><br/>"
	               "<span>x</span> <a href=\"https://a.org/?q=1&amp;r=2\">link</a> "
	               "<a href='mailto:x@a.org'>mail</a> <img src=\"http://a.org/x.png\" alt=\"X\" /></p>"));
	EXPECT(html_ok("<span>&lt;&gt;&amp;&quot;&apos;&#160;&#x1F4DC;</span>"));
	EXPECT(html_ok("<p >x</p >"));
	EXPECT(html_ok("<img src=\"https://a.org/x.png\"/>"));
}

static void tags_outside_the_list_are_refused(void)
{
	EXPECT_HTML_REFUSED("<div>x</div>", "<div>");
	EXPECT_HTML_REFUSED("<p><script>x</script></p>", "<script>");
	EXPECT_HTML_REFUSED("<p><style>p{}</style></p>", "<style>");
	EXPECT_HTML_REFUSED("<p><iframe src=\"https://a.org/\"></iframe></p>", "<iframe>");
	EXPECT_HTML_REFUSED("<p><svg:a>x</svg:a></p>", "<svg:a>");
}

static void attributes_other_than_href_src_alt_are_refused(void)
{
	EXPECT_HTML_REFUSED("<p onclick=\"x()\">x</p>", "onclick");
	EXPECT_HTML_REFUSED("<p><a href=\"https://a.org/\" onmouseover=\"x()\">x</a></p>", "onmouseover");
	EXPECT_HTML_REFUSED("<p><span style=\"color:red\">x</span></p>", "style");
	EXPECT_HTML_REFUSED("<p><img alt=\"x\" href=\"https://a.org/\"/></p>", "href on <img>");
	EXPECT_HTML_REFUSED("<p><a href=\"https://a\" href=\"https://b\">x</a></p>", "twice");
	EXPECT_HTML_REFUSED("<p><a href=https://a.org/>x</a></p>", "without quotes");
	EXPECT_HTML_REFUSED("<p><a href>x</a></p>", "without a value");
	EXPECT_HTML_REFUSED("<p><a href=\"https://a.org/>x</a></p>", "has '<' inside an attribute");
}

static void links_go_only_to_http_https_or_mailto(void)
{
	EXPECT_HTML_REFUSED("<p><a href=\"javascript:alert(1)\">x</a></p>", "http:, https: or mailto:");
	EXPECT_HTML_REFUSED("<p><a href=\" javascript:x\">x</a></p>", "mailto");
	EXPECT_HTML_REFUSED("<p><a href=\"&#106;avascript:x\">x</a></p>", "mailto");
	EXPECT_HTML_REFUSED("<p><a href=\"/relative\">x</a></p>", "mailto");
	EXPECT_HTML_REFUSED("<p><img src=\"mailto:x@a.org\"/></p>", "http: or https:");
	EXPECT_HTML_REFUSED("<p><img src=\"data:image/png;base64,AA\"/></p>", "http: or https:");
}

static void comments_cdata_instructions_and_declarations_are_refused(void)
{
	EXPECT_HTML_REFUSED("<p><!-- x --></p>", "comments");
	EXPECT_HTML_REFUSED("<p><![CDATA[<script>]]></p>", "CDATA");
	EXPECT_HTML_REFUSED("<p><?php x ?></p>", "processing instructions");
	EXPECT_HTML_REFUSED("<!DOCTYPE html><p>x</p>", "declarations");
}

static void it_must_be_well_formed_xml_with_one_root(void)
{
	EXPECT_HTML_REFUSED("<p>a</p><p>b</p>", "single element");
	EXPECT_HTML_REFUSED("<p>a</p>tail", "single element");
	EXPECT_HTML_REFUSED("<br/><br/>", "single element");
	EXPECT_HTML_REFUSED("<p>a", "never closed");
	EXPECT_HTML_REFUSED("<p><b>a</p></b>", "</p> where </b> was expected");
	EXPECT_HTML_REFUSED("<p>a</P>", "</P> where </p>");
	EXPECT_HTML_REFUSED("<p>a<br>b</p>", "<br/>");
	EXPECT_HTML_REFUSED("<p>a &nbsp; b</p>", "&#160;");
	EXPECT_HTML_REFUSED("<p>a &amp b</p>", "XML entity");
	EXPECT_HTML_REFUSED("<p>&#xD800;</p>", "character reference");
	EXPECT_HTML_REFUSED("<p>&#1;</p>", "character reference");
	EXPECT_HTML_REFUSED("<p>a < b</p>", "&lt;");
	EXPECT_HTML_REFUSED("<p", "unterminated");
	EXPECT_HTML_REFUSED("x<p></p>", "start with '<'");
	EXPECT_HTML_REFUSED("</p>", "closes nothing");
}

static void nesting_is_bounded(void)
{
	char s[600] = "";
	int i;
	for (i = 0; i < 32; i++)
		strcat(s, "<i>");
	for (i = 0; i < 32; i++)
		strcat(s, "</i>");
	EXPECT(html_ok(s));
	memmove(s + 3, s, strlen(s) + 1);
	memcpy(s, "<b>", 3);
	strcat(s, "</b>");
	EXPECT_HTML_REFUSED(s, "deeper than 32");
}

int main(void)
{
	RUN(every_allowed_tag_and_attribute_passes);
	RUN(tags_outside_the_list_are_refused);
	RUN(attributes_other_than_href_src_alt_are_refused);
	RUN(links_go_only_to_http_https_or_mailto);
	RUN(comments_cdata_instructions_and_declarations_are_refused);
	RUN(it_must_be_well_formed_xml_with_one_root);
	RUN(nesting_is_bounded);
	return CHECK_DONE();
}
