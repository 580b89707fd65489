// The floor: a Worker that answers every request with 200 and checks nothing.
export default {
  async fetch() {
    return new Response(null, { status: 200 });
  },
};
