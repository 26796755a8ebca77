// A few kilobytes of plain English prose, written for this project, that make_vocab trains its
// merges on. Changing it changes every vocabulary `moe init` makes.
#include "tokenizer/make_vocab.h"

namespace moe::tokenizer {

std::string_view english_text() {
  return R"(The river wakes before the town does. In the grey hour before sunrise the water is the only
thing that moves, and it moves the way it always has: slowly at the edges, quickly in the middle,
carrying leaves and small branches and the occasional lost glove down toward the sea. People who
live near it learn to read its moods. When the water is high and brown, they keep their children
close. When it is low and clear, they walk along the stones and look for the old coins that the
current sometimes turns up.

There is a bridge at the centre of the town, built of pale stone more than two hundred years ago.
It has five arches, and the middle one is wider than the others, so that boats with tall masts
could once pass under it. Nobody sails those boats now. The bridge carries cars and bicycles and
people on foot, and in the evening it carries the light of the lamps that stand along its rail.
From the middle of the bridge you can see the whole town: the market square, the church with its
square tower, the school, the long low roof of the library, and the hills beyond.

The library is the oldest public building that is still used for its first purpose. It opened
with a few thousand books, most of them given by a merchant who had made his fortune in wool and
who wanted, people said, to be remembered for something other than his money. Today it holds more
than forty thousand books, a small collection of maps, and a reading room with tall windows that
face the river. On a quiet afternoon the only sounds are the turning of pages and the ticking of
the clock above the door.

Learning to read a map is a little like learning a language. At first the lines and symbols mean
nothing; then, slowly, they start to describe a place you can picture. A thin blue line becomes a
stream. A cluster of small black squares becomes a village. Contour lines drawn close together
become a steep slope that you would rather not climb on a hot day. With practice you can look at a
map of a valley you have never visited and know where the road will be muddy, where the wind will
be strong, and where you might find shelter.

Most of the work that keeps a town running is invisible. Someone checks the water every morning.
Someone repairs the street lamps, clears the drains after a storm, and counts the books that come
back late. Someone bakes bread at four in the morning so that it is warm when the shop opens at
seven. None of these people think of themselves as important, and yet if any of them stopped for a
week, everyone would notice.

Children in the town learn to swim in the river during the summer, in a wide calm pool below the
weir. The older ones teach the younger ones, as they were taught themselves. They learn that cold
water takes your breath away for a moment and then gives it back. They learn that the current is
stronger than it looks, that you should never swim alone, and that the best time to jump from the
rocks is when the sun has warmed them all afternoon.

In autumn the trees along the bank turn yellow and then red, and the leaves fall into the water
and float away in long bright lines. The evenings grow shorter. People light their fires again and
take out the heavy coats they put away in spring. The market sells apples, pears, pumpkins, and
jars of honey from the farms on the hills. It is a season for mending things: fences, roofs, nets,
and friendships that were neglected during the busy months.

Winter is quiet. Snow does not fall every year, but when it does the whole town changes. Sounds
are softer. The bridge becomes a white curve over dark water. Children build snowmen in the square
and throw snowballs at each other until their hands are too cold to hold anything. Old people
remember the great winter, when the river froze from bank to bank and you could walk across it,
though most of them were told about it by their own parents and did not see it themselves.

Why do we tell stories about places? Perhaps because a place is more than its streets and
buildings. It is also what happened there, and what people hoped would happen, and what they were
afraid of. A town remembers its floods and its fires, its good harvests and its bad ones, the day
the new school opened and the day the old mill closed. These memories are not kept in any single
book. They are spread among thousands of people, and each of them holds only a small piece.

If you visit, come in the early morning. Stand on the bridge and watch the mist lift from the
water. Listen to the birds in the trees along the bank, and to the first bicycles crossing behind
you. Then walk to the bakery, buy a loaf that is still warm, and eat it slowly while the town wakes
up around you. It's a small pleasure, and it costs very little, but you'll remember it for a long
time.
)";
}

}  // namespace moe::tokenizer
