#include "tools/tool.hpp"

namespace fleetmcp::tools {

Tool make_query_tool();
Tool make_list_schemas_tool();
Tool make_list_tables_tool();
Tool make_describe_table_tool();
Tool make_list_functions_tool();
Tool make_sample_table_tool();

std::vector<Tool> make_tools() {
  std::vector<Tool> all;
  all.push_back(make_query_tool());
  all.push_back(make_list_schemas_tool());
  all.push_back(make_list_tables_tool());
  all.push_back(make_describe_table_tool());
  all.push_back(make_list_functions_tool());
  all.push_back(make_sample_table_tool());
  return all;
}

}  // namespace fleetmcp::tools
