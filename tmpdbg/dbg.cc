#include "audio/preprocess.h"
#include <fstream>
#include <sstream>
int main(int argc, char** argv) {
  std::ifstream f(argv[1], std::ios::binary); std::stringstream s; s << f.rdbuf();
  for (int i = 0; i < 50; ++i) { auto d = voxgate::audio::Preprocess(s.str(), {}); }
}
