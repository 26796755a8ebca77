// Training samples drawn from a token file as Megatron's GPTDataset draws them: samples of
// seq_length + 1 tokens cut from the token stream with stride seq_length (a sample's last token is
// the next one's first), the samples split into train / valid / test ranges by `split` weights, and
// the train samples visited in an order shuffled afresh each epoch from the seed. Sample j is a
// function of (seed, j) alone, so every parallel layout and every resume point draws the same data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/token_data.h"

namespace moe::train {

// "949,50,1" -> normalised weights {train, valid, test}; throws ConfigError naming `split`.
struct DataSplit {
  double train = 1.0;
  double valid = 0.0;
  double test = 0.0;
};
DataSplit parse_split(const std::string& text);

enum class SplitPart { kTrain, kValid, kTest };

class SampleStream {
 public:
  // Throws ConfigError when the part holds no whole sample.
  SampleStream(const TokenData& data, int64_t seq_length, const DataSplit& split, SplitPart part, uint64_t seed);

  int64_t samples_per_epoch() const { return count_; }
  int64_t seq_length() const { return seq_length_; }
  // Sample j (any j >= 0; epoch j / samples_per_epoch()) into out[seq_length + 1].
  void sample(int64_t j, int32_t* out);

 private:
  const TokenData* data_;
  int64_t seq_length_;
  int64_t first_ = 0;  // first sample of this part
  int64_t count_ = 0;
  bool shuffle_ = false;
  uint64_t seed_;
  int64_t epoch_ = -1;  // epoch whose order is in order_
  std::vector<int64_t> order_;
};

}  // namespace moe::train
