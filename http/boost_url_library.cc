// Boost.URL's compiled part, built into this one file (Debian's
// libboost1.81-dev ships it as source for header-only use).
#include <boost/url/src.hpp>  // IWYU pragma: keep
