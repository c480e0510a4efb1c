# The documentation's checks (cmake/check_docs.cmake), included by tests/CMakeLists.txt.
#
# Every relative link and picture of README.md, models/README.md and docs/**/*.md names a file
# that exists; the second test runs the same check on a fixture tree (tests/docs/broken/) with a
# broken link, a broken picture and a broken <img>, which it must name (and fail on). The tour's
# commands are run with DDIM_PARSE_ONLY=1, so a renamed option or command breaks the test, not
# the reader.
add_test(NAME Docs.EveryRelativeLinkAndPictureResolves
         COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -P ${PROJECT_SOURCE_DIR}/cmake/check_docs.cmake)
add_test(NAME Docs.TheLinkCheckFindsABrokenLink
         COMMAND ${CMAKE_COMMAND} -DROOT=${CMAKE_CURRENT_SOURCE_DIR}/docs/broken
                 -P ${PROJECT_SOURCE_DIR}/cmake/check_docs.cmake)
set_tests_properties(Docs.EveryRelativeLinkAndPictureResolves PROPERTIES LABELS unit)
set_tests_properties(Docs.TheLinkCheckFindsABrokenLink PROPERTIES LABELS unit
  PASS_REGULAR_EXPRESSION "README.md:6: broken link: no/such/page.md\nREADME.md:6: broken link: pictures/missing.png\ndocs/page.md:4: broken link: figure.png\n.*3 broken link"
  FAIL_REGULAR_EXPRESSION "not/checked|all resolve")

if(TARGET ddim_cli)
  add_test(NAME Docs.TheTourCommandsParse
           COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -DMODE=tour -DDDIM=$<TARGET_FILE:ddim_cli>
                   -P ${PROJECT_SOURCE_DIR}/cmake/check_docs.cmake)
  set_tests_properties(Docs.TheTourCommandsParse PROPERTIES LABELS cli)
endif()
