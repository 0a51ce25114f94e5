/*
 * check.h - the unit-test harness: one executable per test file, each test a
 * function named like a sentence, each failed expectation printed with its
 * file and line, and the last line "N passed, N failed" (one per test).
 */
#ifndef TESSERA_CHECK_H
#define TESSERA_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed, check_current_failed;

#define EXPECT(cond) do { \
	if (!(cond)) { \
		printf("    %s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
		check_current_failed = 1; \
	} } while (0)

#define EXPECT_EQ_INT(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) { \
		printf("    %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b); \
		check_current_failed = 1; \
	} } while (0)

#define EXPECT_EQ_STR(a, b) do { \
	const char *_a = (a), *_b = (b); \
	if (!_a || !_b || strcmp(_a, _b) != 0) { \
		printf("    %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
		       _a ? _a : "(null)", _b ? _b : "(null)"); \
		check_current_failed = 1; \
	} } while (0)

#define RUN(test) do { \
	check_current_failed = 0; \
	test(); \
	if (check_current_failed) { check_failed++; printf("FAIL %s\n", #test); } \
	else { check_passed++; printf("ok   %s\n", #test); } \
	} while (0)

#define CHECK_DONE() (printf("%d passed, %d failed\n", check_passed, check_failed), \
	check_failed ? 1 : 0)

#endif
