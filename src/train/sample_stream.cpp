// Sample index, split and per-epoch shuffle over a token file.
#include "train/sample_stream.h"

#include <cmath>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "core/random.h"

namespace moe::train {

DataSplit parse_split(const std::string& text) {
  std::vector<double> weights;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const double w = std::strtod(item.c_str(), &end);
    MOE_CHECK(!item.empty() && end == item.c_str() + item.size() && w >= 0, ConfigError, "split: '", text,
              "' is not a list of non-negative weights like 949,50,1");
    weights.push_back(w);
  }
  MOE_CHECK(!weights.empty() && weights.size() <= 3, ConfigError, "split: '", text,
            "' must have 1 to 3 weights (train,valid,test)");
  weights.resize(3, 0.0);
  const double total = weights[0] + weights[1] + weights[2];
  MOE_CHECK(total > 0 && weights[0] > 0, ConfigError, "split: '", text, "' gives the train part no share");
  return {weights[0] / total, weights[1] / total, weights[2] / total};
}

SampleStream::SampleStream(const TokenData& data, int64_t seq_length, const DataSplit& split, SplitPart part,
                           uint64_t seed)
    : data_(&data), seq_length_(seq_length), shuffle_(part == SplitPart::kTrain), seed_(seed) {
  MOE_CHECK(seq_length >= 1, ConfigError, "seq_length must be >= 1");
  const int64_t total = (data.size() - 1) / seq_length;
  // Part boundaries rounded as Megatron's get_train_valid_test_split_ does (cumulative, rounded).
  const int64_t train_end = std::llround(split.train * static_cast<double>(total));
  const int64_t valid_end = std::llround((split.train + split.valid) * static_cast<double>(total));
  const int64_t bounds[4] = {0, train_end, valid_end, total};
  const int index = static_cast<int>(part);
  first_ = bounds[index];
  count_ = bounds[index + 1] - bounds[index];
  const char* names[] = {"train", "valid", "test"};
  MOE_CHECK(count_ > 0, ConfigError, data.prefix(), ": the ", names[index], " split holds no sample of ",
            seq_length + 1, " tokens (", data.size(), " tokens in all; lower seq_length or change split)");
}

void SampleStream::sample(int64_t j, int32_t* out) {
  const int64_t epoch = j / count_;
  int64_t index = j % count_;
  if (shuffle_) {
    if (epoch != epoch_) {
      order_.resize(count_);
      std::iota(order_.begin(), order_.end(), 0);
      Rng rng(derive_seed(seed_, "epoch " + std::to_string(epoch)));
      for (int64_t i = count_ - 1; i > 0; --i)  // Fisher-Yates
        std::swap(order_[i], order_[rng.next_u64() % static_cast<uint64_t>(i + 1)]);
      epoch_ = epoch;
    }
    index = order_[index];
  }
  data_->read((first_ + index) * seq_length_, seq_length_ + 1, out);
}

}  // namespace moe::train
